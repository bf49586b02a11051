/**
 * The Electron shell: one window with the renderer, the IPC transport, the app's own file
 * protocol, and the security settings of DESIGN.md. Everything else is the plain-Node Studio.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, protocol, session, shell, utilityProcess } from 'electron';
import { Studio } from './host/studio';
import { CSP, FILE_SCHEME } from './host/csp';
import { servedFileHeaders } from './host/served-file';
import { connectIpc } from './ipc';
import { studioEngine } from './host/engine';
import { utilityProcessChannel } from './training/engine-client';
import { engineStartEnv } from './engine/protocol';
import { defaultUserDataDir } from './host/paths';

protocol.registerSchemesAsPrivileged([{ scheme: FILE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let win: BrowserWindow | undefined;

/** Where the renderer is loaded from: the dev server in development, else the built index.html. */
const RENDERER_URL = process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(path.join(__dirname, '../renderer/index.html')).toString();

async function createWindow(): Promise<void> {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Transfer Studio',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  // No navigation away from the app and no new windows; external links open in the system browser.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  await win.loadURL(RENDERER_URL);
}

app.whenReady().then(async () => {
  // TRANSFER_STUDIO_HOME (tests, portable setups) overrides Electron's per-user folder.
  const userDataDir = process.env.TRANSFER_STUDIO_HOME ? defaultUserDataDir() : app.getPath('userData');
  // The engine (TensorFlow.js) runs in a utility process beside the main process, started on first use.
  const enginePath = path.join(__dirname, 'engine-process.js');
  const studio = new Studio({
    userDataDir,
    mode: 'electron',
    // The engine keeps its caches (the ONNX models of frozen parts) where the Studio says (`start`);
    // TRANSFER_STUDIO_ENGINE=ssh://... puts it on a server instead.
    engineFor: (setting, start) =>
      studioEngine(setting, () =>
        utilityProcessChannel(utilityProcess.fork(enginePath, [], { serviceName: 'Transfer Studio engine', env: { ...process.env, ...engineStartEnv(start) } })),
      ),
    ...(process.env.TRANSFER_STUDIO_ENGINE !== undefined ? { engineSetting: process.env.TRANSFER_STUDIO_ENGINE } : {}),
  });
  // The page's CSP is a meta tag in the built index.html (header hooks never see a file:// load);
  // any http(s) response gets it as a header too. No permission (camera, notifications...) is ever granted.
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  // Project files (thumbnails, originals) only through our protocol, only from the open project.
  // Typed by content, never runnable (served-file.ts), like browser mode's /files.
  protocol.handle(FILE_SCHEME, async (request) => {
    const url = URL.canParse(request.url) ? new URL(request.url) : null;
    const id = url && /^\/\d{1,15}$/.test(url.pathname) ? Number(url.pathname.slice(1)) : 0;
    const kind = url?.hostname === 'thumb' ? 'thumb' : url?.hostname === 'image' ? 'image' : null;
    const data = kind && id > 0 ? await studio.readProjectFile(kind, id) : null;
    if (!data) return new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' } });
    return new Response(new Uint8Array(data), { status: 200, headers: servedFileHeaders(data) });
  });
  connectIpc(studio, () => win?.webContents, RENDERER_URL);
  await createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow();
  });
  app.on('before-quit', () => void studio.dispose());
});

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
