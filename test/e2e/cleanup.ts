/** Each e2e file's temporary folders go when it ends (after its own afterAll has closed the app in them). */
import { afterAll } from 'vitest';
import { removeTempDirs } from '../fixtures/temp';

afterAll(removeTempDirs);
