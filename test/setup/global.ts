/**
 * Vitest global setup of the integration and e2e suites: they find (or install) what they need from
 * the machine before any test file runs (see prerequisites.ts), so a single `npx vitest run FILE`
 * works on a fresh machine too. The e2e suite gets the browser's path through inject('chromiumPath').
 */
import type { TestProject } from 'vitest/node';
import { ensure } from './prerequisites';

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumPath: string;
  }
}

export default function setup(project: TestProject): void {
  if (project.name === 'integration') ensure(['chattr']);
  // The Electron specs (E2E_ELECTRON=1) drive Electron's own Chromium.
  else if (project.name === 'e2e' && process.env['E2E_ELECTRON'] !== '1') project.provide('chromiumPath', ensure(['chromium']).chromium!);
}
