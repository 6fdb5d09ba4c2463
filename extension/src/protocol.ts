// Kiln's language-server protocol extensions, typed in one place. The server side is
// server/kiln/lsp/protocol.py; keep the two in step.

export interface CompileParams { uri: string; outDir?: string; board?: string }
export interface OperatorSummary { index: number; kind: string; macs: number }
export interface CompileResult {
  files: string[];
  outDir: string;
  summary: { operators: OperatorSummary[]; arena_bytes: number; flash_bytes: number; macs: number };
  problems: string[];
  buildSystem?: BuildSystem;
  kept?: KeptEdit[]; // absent from older servers
}
/** A generated file the user edited: kept as it is, Kiln's new version written beside it. */
export interface KeptEdit { file: string; new: string }
/** The workspace's build above the output folder, and the lines that add the model to it. */
export interface BuildSystem {
  kind: string | null; // cmake, make, zephyr, esp-idf, platformio, arduino; null: none found
  file: string | null; // uri of the build file
  lines: string[];
  uses_model: boolean;
  tested_here: boolean;
  note: string;
  model: string;
}

export interface BoardInfo {
  name: string;
  cpu?: string;
  ram_bytes?: number;
  flash_bytes?: number;
  clock_hz?: number;
  description?: string;
}
export interface BoardsResult { boards: BoardInfo[] }

export interface DeviceParams {
  uri: string; board?: string; outDir?: string; seed?: number; adapter?: string;
  steps?: number; // kiln/run, kiln/profile: invocations in sequence (default: 10 for a model with state, else 1)
  // kiln/run, kiln/profile: the user's own firmware at this port serves the model (default: the
  // setting kiln.firmwarePort); cpuHz turns its ticks into cycles (default kiln.firmwareCpuHz)
  attach?: string; cpuHz?: number;
}
export interface BuildResult { artifact: string; board: string }
export interface FlashResult { board: string; url: string; model_sha256: string }

// cycles: the count of the board's per-operator counter, in `unit` (server/kiln/boards: "instructions"
// on QEMU, "nanoseconds" on the host, "cycles" on real boards); micros: null where the count is no
// time (QEMU's instructions stand for no real CPU's time).
export type CountUnit = 'instructions' | 'cycles' | 'nanoseconds';
export interface OperatorTiming {
  index: number;
  kind: string;
  function: string;
  cycles: number;
  micros: number | null;
  share: number;
  macs: number;
}
export interface ProfileResult {
  model: string;
  board: string;
  unit?: CountUnit; // absent from older servers: cycles
  operators: OperatorTiming[];
  total: { cycles: number; micros: number | null };
  run: { cycles: number; micros: number | null } | null;
  exact?: boolean;
  steps?: number; // a sequence: cycles and micros are per-invocation means
  per_step_cycles?: number[];
}

export interface RunOutput {
  index: number;
  name: string;
  shape: number[];
  dtype: string;
  values: number[];
  reference: number[];
  max_abs_diff: number;
  max_rel_diff?: number;
  sequence?: number[][]; // a sequence's values step by step (values: the last step's)
}
export interface RunResult { model: string; board: string; outputs: RunOutput[]; steps?: number; state_bytes?: number }

export interface ReportOperator {
  index: number;
  kind: string;
  options?: string; // a custom operator's main options, e.g. "fft_length 512, int16"
  inputs: string[];
  outputs: string[];
  constants: string[];
  macs: number | null;
  weight_bytes: number;
  live_bytes: number | null;
}
export interface ReportBuffer { name: string; offset: number; size: number; first: number; last: number }
export interface ReportStatePart { name: string; kind: string; offset: number; size: number; type?: string }
export interface ReportResult {
  model: string;
  operators: ReportOperator[];
  inputs: string[];
  outputs: string[];
  totals: {
    operators: number;
    macs: number | null;
    weight_bytes: number;
    arena_bytes: number | null;
    arena_lower_bound: number | null;
    state_bytes?: number | null;
  };
  buffers: ReportBuffer[];
  state?: ReportStatePart[]; // kept between invocations (resource variables, recurrent state)
  problems: string[];
}

export interface TuneOperator {
  index: number;
  kind: string;
  signature: string;
  variants: Record<string, number>; // cycles of each variant tried
  chosen: string | null;
  before: number;
  after: number;
}
export interface TuneResult {
  model: string;
  board: string;
  cpu: string;
  log: string;
  seconds: number;
  rounds: number;
  operators: TuneOperator[];
  before: ProfileResult;
  after: ProfileResult;
  arena_bytes: { before: number; after: number };
}

/** kiln/diff: each operator's outputs on the board against TFLite Micro's (the C as it is in the output folder). */
export interface DiffOperator {
  index: number;
  kind: string;
  function: string;
  tensors: string[];
  max_abs_diff: number | null; // null: no output compared
  mismatches: number;
  elements: number; // per invocation
  first_step: number | null;
  line: number | null; // 0-based line of its function in `file`
}
export interface DiffResult {
  model: string;
  board: string;
  file: string; // uri of the generated .c
  invocations: number;
  tolerance: { atol: number; rtol: number };
  operators: DiffOperator[];
  first_diverging: number | null;
}

export interface DeviceEvent { request: string; uri: string; board: string | null; message: string }

/** Request name -> params and result: the client's request() is typed by this map. */
export interface Requests {
  'kiln/compile': { params: CompileParams; result: CompileResult };
  'kiln/boards': { params: Record<string, never>; result: BoardsResult };
  'kiln/report': { params: { uri: string }; result: ReportResult };
  'kiln/build': { params: DeviceParams; result: BuildResult };
  'kiln/flash': { params: DeviceParams; result: FlashResult };
  'kiln/run': { params: DeviceParams; result: RunResult };
  'kiln/profile': { params: DeviceParams; result: ProfileResult };
  'kiln/tune': { params: { uri: string; board?: string; log?: string }; result: TuneResult };
  'kiln/diff': { params: DeviceParams; result: DiffResult };
}
export type RequestName = keyof Requests;

export const DEVICE_EVENT = 'kiln/deviceEvent';
export const REQUEST_CANCELLED = -32800;
export const REQUEST_FAILED = -32803; // a KilnError: the server has sent it as window/showMessage too
export const DEFAULT_BOARD = 'host';
