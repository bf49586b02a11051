/** Who may call the Studio over Electron's IPC (src/main/shell-policy.ts), without Electron. */
import { describe, expect, it } from 'vitest';
import { isAppPage, mayCallStudio } from '../../src/main/shell-policy';

const BUILT = 'file:///opt/Transfer%20Studio/resources/app.asar/out/renderer/index.html';
const DEV = 'http://localhost:5173/';

describe('IPC sender check', () => {
  it('the app page is the built index.html, or in development the dev server', () => {
    expect(isAppPage(`${BUILT}#/train`, BUILT)).toBe(true);
    expect(isAppPage('file:///home/me/Downloads/evil.html', BUILT)).toBe(false);
    expect(isAppPage('studio-file://image/1', BUILT)).toBe(false);
    expect(isAppPage('https://example.com/', BUILT)).toBe(false);
    expect(isAppPage('http://localhost:5173/src/x', DEV)).toBe(true);
    expect(isAppPage('http://localhost:5174/', DEV)).toBe(false);
    expect(isAppPage('not a url', BUILT)).toBe(false);
  });

  it('answers only the app window, its top frame, at the app page', () => {
    const win = {};
    const top = { url: BUILT, parent: null };
    expect(mayCallStudio({ sender: win, senderFrame: top }, win, BUILT)).toBe(true);
    expect(mayCallStudio({ sender: {}, senderFrame: top }, win, BUILT)).toBe(false);
    expect(mayCallStudio({ sender: win, senderFrame: { url: BUILT, parent: top } }, win, BUILT)).toBe(false);
    expect(mayCallStudio({ sender: win, senderFrame: { url: 'file:///tmp/evil.html', parent: null } }, win, BUILT)).toBe(false);
    expect(mayCallStudio({ sender: win, senderFrame: null }, win, BUILT)).toBe(false);
    expect(mayCallStudio({ sender: undefined, senderFrame: top }, undefined, BUILT)).toBe(false);
  });
});
