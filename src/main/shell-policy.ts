/**
 * Who may call the Studio over Electron IPC, as plain functions (no Electron import, so they are
 * tested without it): only the main frame of the app's own window, at the app's own page.
 */

/** Whether `url` is the app's page: the built index.html (file:) or, in development, the dev server's origin. */
export function isAppPage(url: string, rendererUrl: string): boolean {
  try {
    const u = new URL(url);
    const app = new URL(rendererUrl);
    return app.protocol === 'file:' ? u.protocol === 'file:' && u.pathname === app.pathname : u.origin === app.origin;
  } catch {
    return false;
  }
}

/** The parts of an IPC event that say who sent it. */
export interface IpcSender {
  sender: unknown;
  senderFrame: { url: string; parent: unknown } | null;
}

/** A request is answered only from the app window's top frame showing the app's page. */
export function mayCallStudio(e: IpcSender, appWindow: unknown, rendererUrl: string): boolean {
  const frame = e.senderFrame;
  return appWindow !== undefined && e.sender === appWindow && frame !== null && frame.parent === null && isAppPage(frame.url, rendererUrl);
}
