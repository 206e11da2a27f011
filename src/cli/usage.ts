// The usage text, printed by --help and (on stderr) after a usage error.
export const USAGE = `Usage:
  reuse-lens compare SOURCE TARGET [options]   compare two checkpoints layer by layer
  reuse-lens inspect FILE [--stats] [--json]   list a checkpoint's tensors and layers
  reuse-lens experiment SOURCE TARGET --model FILE.py:CALLABLE --data FILE.py:CALLABLE [options]
                                               evaluate the target with source layers put in
  reuse-lens annotate CODE.py (SOURCE TARGET | --report REPORT.json) [--json]
                                               the lines of model code that create or load the layers
  reuse-lens --help | --version

compare options:
  --json                    print the report as JSON (schema reuse-lens/report@1)
  --md                      print the report as a Markdown table
  --csv                     print one CSV row per parameter
  --plan pytorch|keras|json print the reuse plan: which tensors to copy and freeze
  --metric relRmse|rmse     kernel metric the thresholds apply to (default relRmse)
  --reuse-below X           reuse as is below X (default 0.1)
  --fine-tune-below Y       fine-tune below Y, retrain above (default 0.6)
  --prefix P                strip name prefix P before matching by name (repeatable)
  --no-default-prefixes     do not strip the default prefixes (module., _orig_mod.)

experiment options (PyTorch: run in the folder of your code; needs PyTorch there):
  --model FILE.py:CALLABLE  returns the target's torch.nn.Module (checkpoints are loaded into it)
  --data FILE.py:CALLABLE   returns evaluation batches of (inputs, targets), e.g. a DataLoader
  without --model, for a TF.js model.json, a Keras .h5/.keras model or an .onnx target (no Python):
  --data PATH               an .npz with x (inputs in the model's layout) and y (labels or targets),
                            (several inputs: arrays named as the model's inputs, or x0, x1, ...)
                            or a folder of images in class subfolders
  --mean M[,M,M] --std S[,S,S]  normalise folder images per channel: (pixel/255 - M) / S
  --python PATH             the interpreter with torch (default python3)
  --metric accuracy|loss    default: accuracy for class scores and integer labels, else the loss
  --device cpu|cuda         default: cuda when torch sees one
  --tolerance X             accuracy points (or % of the loss) a replacement may cost (default 0.5)
  --json                    print JSON (schema reuse-lens/experiment@1)
  also --reuse-below, --fine-tune-below, --prefix, --no-default-prefixes as for compare

inspect options:
  --stats                   read every tensor: min, max, mean, std, fraction of zeros
  --json                    print JSON (schema reuse-lens/inspect@1)

compare and inspect:
  --time-limit SECONDS      stop with an error after SECONDS (default: no limit)

annotate options:
  --report REPORT.json      a report saved by compare --json instead of SOURCE TARGET
  --json                    print JSON (schema reuse-lens/annotations@1; lines and columns 1-based)

Exit status: 0 success, 1 bad input (a checkpoint cannot be read) or a time limit
reached, 2 wrong usage.`;

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}
