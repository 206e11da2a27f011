// Threshold controls (re-judge live; save to settings) and export buttons.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { ExportDestination, ExportFormat, Report, Thresholds } from '../../src/protocol';
import { h } from './dom';
import { EXPORT_CHOICES } from './exportModel';
import { metricLabel } from './rejudge';
import { SLIDER_STEPS, parseThreshold, sliderRange, sliderToValue, valueToSlider, type SliderRange } from './thresholdModel';
import { fmt } from './format';

export interface ToolbarEvents {
  onThresholds(which: 'reuseBelow' | 'fineTuneBelow', value: number): void;
  onMetric(metric: Thresholds['metric']): void;
  onReset(): void;
  onSave(): void;
  onExport(format: ExportFormat, destination: ExportDestination): void;
}

function option(value: string, label: string, selected: boolean) {
  const o = h('vscode-option', { value }, label);
  o.selected = selected;
  return o;
}

interface ThresholdControl { range: HTMLInputElement; field: HTMLElementTagNameMap['vscode-textfield'] }

export class Toolbar {
  readonly element: HTMLElement;
  private readonly metric = h('vscode-single-select', { 'aria-label': 'Metric the thresholds apply to', id: 'metric' });
  private readonly reuse: ThresholdControl;
  private readonly fineTune: ThresholdControl;
  private readonly status = h('span', { class: 'muted small status', 'aria-live': 'polite' });
  private readonly saveButton = h('vscode-button', { title: 'Write these thresholds to the reuseLens.thresholds settings' }, 'Save to settings');
  private readonly resetButton = h('vscode-button', { secondary: true, title: "Back to the thresholds this analysis ran with" }, 'Reset');
  private readonly exportFormat = h('vscode-single-select', { 'aria-label': 'Export format', id: 'export-format' });
  private range: SliderRange = { lo: -3, hi: 1 };

  constructor(private readonly events: ToolbarEvents) {
    this.metric.append(option('relRmse', 'relative RMSE', true), option('rmse', 'RMSE', false));
    this.metric.addEventListener('change', () => this.events.onMetric(this.metric.value === 'rmse' ? 'rmse' : 'relRmse'));
    this.reuse = this.thresholdControl('reuseBelow', 'Reuse below', 'Layers whose kernel distance is below this are reused as they are', 'Reuse below');
    this.fineTune = this.thresholdControl('fineTuneBelow', 'Retrain from', 'Layers whose kernel distance is at or above this are retrained; between the two, fine-tuned', 'Retrain from (fine-tune below this)');
    this.resetButton.addEventListener('click', () => this.events.onReset());
    this.saveButton.addEventListener('click', () => this.events.onSave());
    for (const c of EXPORT_CHOICES) this.exportFormat.append(option(c.format, c.label, c.format === 'markdown'));
    const openBtn = h('vscode-button', { title: 'Open the export in a new editor', 'data-export': 'editor' }, 'Open in editor');
    const copyBtn = h('vscode-button', { secondary: true, title: 'Copy the export to the clipboard', 'data-export': 'clipboard' }, 'Copy');
    openBtn.addEventListener('click', () => this.events.onExport(this.format(), 'editor'));
    copyBtn.addEventListener('click', () => this.events.onExport(this.format(), 'clipboard'));
    // The buttons' accessible names say what they export ("Open Markdown summary in an editor").
    const name = () => {
      const label = EXPORT_CHOICES.find((c) => c.format === this.format())?.label ?? 'export';
      openBtn.setAttribute('aria-label', `Open ${label} in an editor`);
      copyBtn.setAttribute('aria-label', `Copy ${label} to the clipboard`);
    };
    name();
    this.exportFormat.addEventListener('change', name);
    this.element = h('div', { class: 'toolbar' },
      h('fieldset', { class: 'group thresholds' },
        h('legend', {}, 'Thresholds'),
        h('label', { class: 'ctl', for: 'metric' }, h('span', { class: 'ctl-label' }, 'Metric'), this.metric),
        this.wrap(this.reuse, 'Reuse below', 'reuse'),
        this.wrap(this.fineTune, 'Retrain from', 'retrain'),
        h('div', { class: 'buttons' }, this.resetButton, this.saveButton, this.status)),
      h('fieldset', { class: 'group export' },
        h('legend', {}, 'Export'),
        this.exportFormat,
        h('div', { class: 'buttons' }, openBtn, copyBtn)));
  }

  update(report: Report, t: Thresholds, dirty: boolean, changedCount: number, settings: Thresholds | undefined): void {
    this.metric.value = t.metric;
    this.range = sliderRange(report, t);
    this.set(this.reuse, t.reuseBelow);
    this.set(this.fineTune, t.fineTuneBelow);
    this.resetButton.disabled = !dirty;
    const saved = settings && settings.metric === t.metric && settings.reuseBelow === t.reuseBelow && settings.fineTuneBelow === t.fineTuneBelow;
    this.saveButton.disabled = !!saved;
    this.status.textContent = dirty
      ? `${changedCount} verdict${changedCount === 1 ? '' : 's'} changed from the analysis (marked *)`
      : `as analysed, on ${metricLabel(t.metric)}`;
  }

  flash(text: string): void { this.status.textContent = text; }

  private format(): ExportFormat {
    const v = this.exportFormat.value;
    return (EXPORT_CHOICES.find((c) => c.format === v)?.format) ?? 'markdown';
  }

  private thresholdControl(which: 'reuseBelow' | 'fineTuneBelow', label: string, title: string, ariaLabel: string): ThresholdControl {
    const range = h('input', { type: 'range', min: 0, max: SLIDER_STEPS, step: 1, class: `slider slider-${which}`, 'aria-label': `${label} slider (log scale)`, title, 'data-slider': which });
    // Stable hooks for the end-to-end suite: id, name and data-threshold name the threshold.
    const field = h('vscode-textfield', { class: 'num-field', 'aria-label': ariaLabel, title, id: `t-${which}`, name: which, 'data-threshold': which });
    range.addEventListener('input', () => this.events.onThresholds(which, sliderToValue(Number(range.value), this.range)));
    const commit = () => {
      const v = parseThreshold(field.value);
      field.invalid = v === undefined;
      if (v !== undefined) this.events.onThresholds(which, v);
    };
    field.addEventListener('change', commit);
    field.addEventListener('keydown', (e) => { if (e.key === 'Enter') commit(); });
    return { range, field };
  }

  private wrap(c: ThresholdControl, label: string, verdict: string): HTMLElement {
    return h('div', { class: 'ctl' }, h('label', { class: 'ctl-label', for: c.field.id }, h('span', { class: `dot v-${verdict}`, 'aria-hidden': 'true' }), label), c.range, c.field);
  }

  private set(c: ThresholdControl, v: number): void {
    c.range.value = String(valueToSlider(v, this.range));
    // Do not rewrite the field while the user is typing in it.
    if (document.activeElement !== c.field) { c.field.value = fmt(v); c.field.invalid = false; }
  }
}
