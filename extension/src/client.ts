// The LanguageClient that runs Kiln's Python server (`python -m kiln.lsp`, the server's code from
// the extension's own server/ folder on PYTHONPATH), restarts it, and sends typed requests.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient, LanguageClientOptions, RequestType, ResponseError, ServerOptions, ShowMessageNotification,
} from 'vscode-languageclient/node';
import { choose, installEnvironment } from './bootstrap';
import { Offer } from './interpreter';
import { DEVICE_EVENT, DeviceEvent, REQUEST_CANCELLED, REQUEST_FAILED, RequestName, Requests } from './protocol';

export class Cancelled extends Error {}
/** An error the server answered; it has shown the message itself (window/showMessage). */
export class ServerError extends Error {}
/** No Python could run the language server (the report waits for one; commands say so). */
export class ServerDown extends Error {}

export class KilnClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<boolean> | undefined;
  private installing: Promise<void> | undefined; // requests wait for an install under way, then start
  readonly events = new vscode.EventEmitter<DeviceEvent>();
  /** Whether a Python that can run the server was found (undefined: not looked yet), and if not why. */
  readonly readiness = new vscode.EventEmitter<{ ready: boolean; problem?: string }>();
  python: string | undefined;

  constructor(private readonly ctx: vscode.ExtensionContext, readonly output: vscode.OutputChannel,
    private readonly trace: vscode.OutputChannel) {}

  /** Start once; later calls wait for the same start. False when no Python could run the server.
   * The server starts when something needs it (a Kiln command, a model report, a generated .c);
   * quiet: nobody asked (a file opened), so a missing Python is the status bar's and the
   * walkthrough's to say, not a notification. */
  async ensureStarted(quiet = false): Promise<boolean> {
    if (this.installing) await this.installing;
    if (this.client?.isRunning()) return true;
    if (!this.starting) this.starting = this.start(quiet).finally(() => { this.starting = undefined; });
    return this.starting;
  }

  /** Looks for a Python that can run the server, without starting it and without notifications
   * (at start-up: the status bar and the walkthrough's first step show the result). */
  async check(): Promise<boolean> {
    const decision = await choose(this.ctx, this.output);
    const ready = 'use' in decision;
    this.readiness.fire(ready ? { ready } : { ready, problem: decision.problem });
    return ready;
  }

  /** The walkthrough's "Check Python": the result, with the fixes when there is none. */
  async checkPython(): Promise<void> {
    if (await this.ensureStarted()) {
      void vscode.window.showInformationMessage(`Kiln: the language server runs on ${this.python}.`);
    }
  }

  private async start(quiet: boolean): Promise<boolean> {
    const decision = await choose(this.ctx, this.output);
    if (!('use' in decision)) {
      this.output.appendLine(`[python] ${decision.problem}`);
      this.readiness.fire({ ready: false, problem: decision.problem });
      if (!quiet) void this.offerFixes(decision.problem, decision.offers, decision.installWith?.path);
      return false;
    }
    this.readiness.fire({ ready: true });
    this.python = decision.use.path;
    this.output.appendLine(`[python] using ${decision.note}`);
    const serverDir = path.join(this.ctx.extensionPath, 'server');
    const env = { ...process.env, PYTHONPATH: [serverDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
    // -P and the server's own folder as cwd: nothing in the workspace can shadow Kiln's modules
    // (an untrusted workspace must not run its code this way)
    const serverOptions: ServerOptions = { command: this.python, args: ['-P', '-m', 'kiln.lsp'], options: { env, cwd: serverDir } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'c' }],
      synchronize: { configurationSection: 'kiln' },
      outputChannel: this.output,
      traceOutputChannel: this.trace,
    };
    this.client = new LanguageClient('kiln', 'Kiln', serverOptions, clientOptions);
    try {
      await this.client.start();
    } catch (e) {
      this.output.appendLine(`[server] did not start: ${e}`);
      void this.offerFixes(`Kiln's language server did not start with ${this.python}: ${e}`, ['choose', 'output'], undefined);
      return false;
    }
    this.client.onNotification(DEVICE_EVENT, (e: DeviceEvent) => {
      this.output.appendLine(`[${e.board ?? '-'}] ${e.request}: ${e.message}`);
      this.events.fire(e);
    });
    // The server's error messages, with the way to the details (replaces the client's default handler).
    this.client.onNotification(ShowMessageNotification.type, (m) => {
      this.output.appendLine(`[server] ${m.message}`);
      const show = m.type === 1 ? vscode.window.showErrorMessage : m.type === 2 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(m.message, 'Show Output').then((a) => a && this.output.show(true));
    });
    return true;
  }

  private async offerFixes(problem: string, offers: Offer[], installer: string | undefined): Promise<void> {
    const labels: Record<Offer, string> = { install: 'Install Python Packages', choose: 'Choose Interpreter…', settings: 'Open Settings', output: 'Show Output' };
    const pick = await vscode.window.showErrorMessage(`Kiln: ${problem}`, ...offers.map((o) => labels[o]));
    if (pick === labels.install && installer) await this.install(installer);
    else if (pick === labels.choose) await this.chooseInterpreter();
    else if (pick === labels.settings) await vscode.commands.executeCommand('workbench.action.openSettings', 'kiln.pythonPath');
    else if (pick === labels.output) this.output.show(true);
  }

  async install(base?: string): Promise<void> {
    if (this.installing) return this.installing;
    this.installing = installEnvironment(this.ctx, base ?? 'python3', this.output).then(
      (py) => { this.output.appendLine(`[install] done: ${py}`); },
      (e) => {
        this.output.appendLine(`[install] failed: ${(e as Error).message}`);
        void vscode.window.showErrorMessage(`Kiln: the install failed: ${(e as Error).message}`, 'Show Output')
          .then((a) => a && this.output.show(true));
      });
    try {
      await this.installing;
    } finally {
      this.installing = undefined;
    }
    await this.restart();
  }

  async chooseInterpreter(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use this Python', title: 'Python 3.11+ for Kiln' });
    if (!picked?.length) return;
    await vscode.workspace.getConfiguration('kiln').update('pythonPath', picked[0].fsPath, vscode.ConfigurationTarget.Global);
    await this.restart();
  }

  async restart(): Promise<boolean> {
    const old = this.client;
    this.client = undefined;
    if (old) await old.stop().catch(() => undefined);
    return this.ensureStarted();
  }

  /** A typed request; a cancelled token ends it with Cancelled, a server error with its one-line message. */
  async request<M extends RequestName>(method: M, params: Requests[M]['params'], token?: vscode.CancellationToken): Promise<Requests[M]['result']> {
    if (!(await this.ensureStarted()) || !this.client) throw new ServerDown("Kiln's language server is not running (see the Kiln output)");
    try {
      // a RequestType, not the method name: with a name, sendRequest takes its arguments as a list
      const type = new RequestType<Requests[M]['params'], Requests[M]['result'], void>(method);
      return await this.client.sendRequest(type, params, token);
    } catch (e) {
      if (e instanceof ResponseError && e.code === REQUEST_CANCELLED) throw new Cancelled('cancelled');
      if (token?.isCancellationRequested) throw new Cancelled('cancelled');
      // RequestFailed: a Kiln error the server has shown itself; anything else the commands show
      if (e instanceof ResponseError && e.code === REQUEST_FAILED) throw new ServerError(e.message);
      throw e instanceof ResponseError ? new Error(e.message) : e;
    }
  }

  async dispose(): Promise<void> {
    await this.client?.stop().catch(() => undefined);
    this.events.dispose();
    this.readiness.dispose();
  }
}
