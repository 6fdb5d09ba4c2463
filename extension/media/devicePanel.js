// The device panel's script: shows the sections the extension sends and keeps them in the
// webview state, so a reload (or a hidden tab) does not lose them.
(function () {
  const vscode = acquireVsCodeApi();
  let state = vscode.getState() || { log: [] };

  function render() {
    if (state.outputs) document.getElementById('outputs').innerHTML = state.outputs;
    if (state.chart) document.getElementById('chart').innerHTML = state.chart;
    if (state.diff) document.getElementById('diff').innerHTML = state.diff;
    document.getElementById('log').textContent = (state.log || []).join('\n');
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m.type === 'state') state = Object.assign({ log: [] }, state, m.state, { log: m.state.log.length ? m.state.log : state.log });
    else if (m.type === 'outputs') state.outputs = m.html;
    else if (m.type === 'chart') state.chart = m.html;
    else if (m.type === 'diff') state.diff = m.html;
    else if (m.type === 'log') state.log = (state.log || []).concat([m.line]).slice(-500);
    vscode.setState(state);
    render();
  });

  // the buttons: Flash, Run and Profile on the current model and board (the extension checks the name)
  for (const b of document.querySelectorAll('nav.actions button')) {
    b.addEventListener('click', () => vscode.postMessage({ type: 'command', command: b.dataset.command }));
  }

  // a row of the layer-by-layer table: its function in the C
  document.getElementById('diff').addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-line]');
    if (row) vscode.postMessage({ type: 'reveal', line: Number(row.dataset.line) });
  });

  render();
  vscode.postMessage({ type: 'ready' });
})();
