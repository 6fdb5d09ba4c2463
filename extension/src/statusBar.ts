// The status bar: the current board (click to choose one) and the Flash button, which spins
// while Kiln builds or flashes and turns red when that failed (its tooltip points to the output).
// Both show device work only: a failed compile lives in Problems and its notification, and a red
// Flash belongs to the model whose device work failed (compiling another model clears it).
import * as vscode from 'vscode';

export class StatusBar implements vscode.Disposable {
  readonly board = vscode.window.createStatusBarItem('kiln.board', vscode.StatusBarAlignment.Left, 50);
  readonly flash = vscode.window.createStatusBarItem('kiln.flash', vscode.StatusBarAlignment.Left, 49);
  private failedModel: string | undefined; // the model whose build, flash or run failed, while Flash is red
  /** Shown while no Python can run Kiln's language server: a click opens the walkthrough's set-up step. */
  readonly setup = vscode.window.createStatusBarItem('kiln.setup', vscode.StatusBarAlignment.Left, 51);

  constructor() {
    this.board.name = 'Kiln Board';
    this.board.command = 'kiln.pickBoard';
    this.flash.name = 'Kiln Flash';
    this.idle();
  }

  showBoard(board: string, trusted: boolean): void {
    this.board.text = `$(circuit-board) ${board}`;
    this.board.tooltip = `Kiln board: ${board}. Click to choose another.`;
    this.board.show();
    if (trusted) this.flash.show();
    else this.flash.hide(); // untrusted workspace: report only
  }

  busy(what: string): void {
    this.flash.text = `$(sync~spin) ${what}`;
    this.flash.tooltip = `Kiln: ${what}`;
    this.flash.command = 'kiln.showOutput';
    this.flash.backgroundColor = undefined;
  }

  idle(): void {
    this.failedModel = undefined;
    this.flash.text = '$(zap) Flash';
    this.flash.tooltip = 'Kiln: build the firmware for the board and flash it';
    this.flash.command = 'kiln.flash';
    this.flash.backgroundColor = undefined;
  }

  /** Device work on `model` failed: Flash turns red, and a click tries that model again. */
  failed(what: string, message: string, model: vscode.Uri): void {
    this.failedModel = model.toString();
    this.flash.text = `$(error) ${what} failed`;
    this.flash.tooltip = `${message}\nClick to try again; the details are in the Kiln output.`;
    this.flash.command = { title: 'Flash', command: 'kiln.flash', arguments: [model] };
    this.flash.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
  }

  /** Another model is now the current one: a failure of the previous one no longer shows. */
  current(model: vscode.Uri): void {
    if (this.failedModel !== undefined && this.failedModel !== model.toString()) this.idle();
  }

  /** Whether a Python that can run the server was found; if not, the set-up item says why. */
  python(ready: boolean, problem?: string): void {
    if (ready) {
      this.setup.hide();
      return;
    }
    this.setup.name = 'Kiln Set-up';
    this.setup.text = '$(warning) Kiln: set up Python';
    this.setup.tooltip = `${problem ?? "No Python can run Kiln's language server."}\nClick for the set-up step.`;
    this.setup.command = { title: 'Set up Python', command: 'kiln.setUpPython' };
    this.setup.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.setup.show();
  }

  dispose(): void {
    this.board.dispose();
    this.flash.dispose();
    this.setup.dispose();
  }
}
