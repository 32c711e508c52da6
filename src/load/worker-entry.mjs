// Worker bootstrap: workers do not inherit the tsx loader, so register it before loading worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
