/**
 * Domain types shared by main, preload, renderer and the engine process, one file per area under
 * domain/; this index re-exports them all, so importers name one module.
 * Pure data: no imports from any process. Zod schemas live beside the types
 * that arrive from outside (requests, files), so one definition serves both.
 */
export * from './domain/project';
export * from './domain/images';
export * from './domain/training';
export * from './domain/predictions';
export * from './domain/models';
export * from './domain/advisor';
export * from './domain/audit';
export * from './domain/sweep';
