// Worker entry of tools/fuzz.ts: registers the TypeScript loader inside the worker thread.
import { register } from 'tsx/esm/api';
register();
await import('./fuzz.ts');
