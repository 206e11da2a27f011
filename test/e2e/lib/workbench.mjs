// Driving the VS Code workbench (code-server in Chromium) the way a user does: activity bar,
// view panes, tree items, context menus, the command palette, notifications.
// Selectors rely on roles and aria labels, which VS Code keeps stable for screen readers.

/** Waits until the workbench has rendered and the Explorer shows the folder. */
export async function waitForWorkbench(page, timeout = 90_000) {
  await page.waitForSelector('.monaco-workbench', { timeout });
  await page.locator('.explorer-folders-view, .pane-body .monaco-list').first().waitFor({ timeout });
}

/** Shows a side-bar container by its activity-bar entry (e.g. "Reuse Lens", "Explorer"). */
export async function openActivity(page, label) {
  // Clicking the entry of the container already shown would hide the side bar: look first.
  const sidebar = page.locator('.part.sidebar');
  if (await sidebar.isVisible().catch(() => false)) {
    const title = await sidebar.locator('.composite.title .title-label').first().innerText().catch(() => '');
    if (title.trim().toLowerCase().startsWith(label.toLowerCase())) return;
  }
  const item = page.locator(`.activitybar [aria-label^="${label}"]`).first();
  await item.waitFor({ timeout: 30_000 });
  // A badge on the entry (the Explorer's "1 unsaved file" after an export opened an untitled
  // editor) covers the icon: Playwright then refuses the click. A user's click lands all the same.
  await item.click({ timeout: 5_000 }).catch(() => item.click({ force: true }));
  await sidebar.locator('.composite.title .title-label', { hasText: new RegExp(escapeRe(label), 'i') }).first()
    .waitFor({ timeout: 10_000 });
}

/** The view pane with the given title in the side bar (e.g. "Checkpoints"). */
export function pane(page, title) {
  return page.locator('.part.sidebar .pane').filter({
    has: page.locator('.pane-header', { hasText: new RegExp(`^\\s*${escapeRe(title)}`, 'i') }),
  }).first();
}

/** Expands a collapsed pane. */
export async function expandPane(page, title) {
  const p = pane(page, title);
  await p.waitFor({ timeout: 30_000 });
  const header = p.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return p;
}

/** A tree row whose accessible name (label, description, ...) contains text. */
export function treeItem(scope, text) {
  return scope.locator('[role="treeitem"]').filter({ hasText: text }).first();
}

/** Expands a tree row if it is collapsible and collapsed. */
export async function expandItem(item) {
  await item.waitFor({ timeout: 30_000 });
  if ((await item.getAttribute('aria-expanded')) === 'false') {
    // The twistie, not the row: a row with a command (open the summary) does not expand on click.
    await item.locator('.monaco-tl-twistie').first().click();
    await item.page().waitForFunction((el) => el.getAttribute('aria-expanded') === 'true', await item.elementHandle(), { timeout: 10_000 }).catch(() => {});
  }
}

/**
 * Every tree row in scope as "accessible name ‖ visible text" (the name may be a custom
 * accessibility label or the tooltip; the text has label and description).
 */
export async function treeLabels(scope) {
  return scope.locator('[role="treeitem"]').evaluateAll((els) =>
    els.map((e) => `${(e.getAttribute('aria-label') || '').trim()} ‖ ${(e.textContent || '').trim()}`));
}

/**
 * Right-clicks target and picks the context-menu entry with that label. Entries whose `when`
 * clause waits on the extension (a context key set after its first scan) may appear only after
 * a moment: the menu is reopened until then.
 */
export async function contextMenu(page, target, label, { timeout = 20_000 } = {}) {
  const deadline = Date.now() + timeout;
  let shown = [];
  for (;;) {
    await target.click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: label, exact: false }).first();
    if (await item.waitFor({ timeout: 1_500 }).then(() => true, () => false)) {
      // Keyboard, as a user without a mouse would: Playwright's synthetic clicks on the menu
      // (in a shadow root over a full-window .context-view-block) do not reach the item.
      const items = (await page.getByRole('menuitem').allTextContents()).map((x) => x.trim());
      for (let i = 0; i < items.length + 2; i++) {
        await page.keyboard.press('ArrowDown');
        const focused = await page.locator('.monaco-menu .action-item.focused').first().innerText().catch(() => '');
        if (focused.trim().startsWith(label)) break;
      }
      const focused = await page.locator('.monaco-menu .action-item.focused').first().innerText().catch(() => '');
      if (!focused.trim().startsWith(label)) throw new Error(`could not move to "${label}" in the context menu (at "${focused}")`);
      await page.keyboard.press('Enter');
      await page.locator('.context-view .monaco-menu').waitFor({ state: 'detached', timeout: 5_000 }).catch(() => {});
      return;
    }
    shown = await page.getByRole('menuitem').allTextContents().catch(() => []);
    await page.keyboard.press('Escape');
    if (Date.now() > deadline) break;
    await page.waitForTimeout(1_000);
  }
  throw new Error(`context menu has no "${label}"; it shows: ${shown.map((x) => x.trim()).filter(Boolean).join(' | ')}`);
}

/**
 * Opens the quick input (F1, Ctrl+P) and returns its text box once it stays open. With a webview
 * focused, the Escape that closes whatever was open reaches the workbench late (webviews forward
 * keys asynchronously) and may close the box just opened: then it is opened again.
 */
async function openQuickInput(page, key, timeout) {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press(key);
    await input.waitFor({ timeout });
    await page.waitForTimeout(200);
    if (await input.isVisible() || attempt === 2) return input;
  }
}

/** Runs a command from the command palette by its title (as a user types it). */
export async function runCommand(page, title, { timeout = 15_000 } = {}) {
  const input = await openQuickInput(page, 'F1', timeout);
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list [role="option"]').filter({ hasText: title }).first();
  try {
    await row.waitFor({ timeout });
  } catch {
    const shown = await page.locator('.quick-input-list [role="option"]').allTextContents().catch(() => []);
    await page.keyboard.press('Escape');
    throw new Error(`command palette has no "${title}"; it offers: ${shown.slice(0, 8).join(' | ') || '(nothing)'}`);
  }
  await row.click();
}

/** Opens a workspace file with Quick Open (Ctrl+P) by its relative path. */
export async function quickOpen(page, relPath) {
  const input = await openQuickInput(page, 'Control+P', 15_000);
  await input.fill(relPath);
  const name = relPath.split('/').pop();
  // Enter opens the focused row. Right after typing, the list may still be the one from before
  // the filter (recently opened files, the previous pick focused): wait until the file's row is
  // the focused one, else Enter reopens the previous file.
  const row = page.locator('.quick-input-list [role="option"].focused').filter({ hasText: name }).first();
  await row.waitFor({ timeout: 15_000 }).catch(async () => {
    const shown = await page.locator('.quick-input-list [role="option"]').evaluateAll((els) =>
      els.map((e) => `${e.classList.contains('focused') ? '> ' : ''}${e.getAttribute('aria-label')}`)).catch(() => []);
    throw new Error(`Quick Open does not focus ${relPath}; it shows: ${shown.join(' | ') || '(nothing)'}`);
  });
  await page.keyboard.press('Enter');
}

/** Visible notification toasts' text. */
export async function notifications(page) {
  return page.locator('.notifications-toasts .notification-list-item').evaluateAll((els) =>
    els.map((e) => (e.getAttribute('aria-label') || e.innerText || '').trim()));
}

/** Dismisses all notifications (so they do not cover what the next step screenshots). */
export async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => {});
  await page.keyboard.press('Escape');
}

/** Frames of webviews (report panel, checkpoint summary) that contain a selector. */
export async function webviewFrame(page, selector, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (f === page.mainFrame()) continue;
      try {
        if (await f.locator(selector).count()) return f;
      } catch { /* frame navigating */ }
    }
    await page.waitForTimeout(300);
  }
  throw new Error(`no webview frame contains ${selector} within ${timeout} ms`);
}

export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
