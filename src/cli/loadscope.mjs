#!/usr/bin/env node
// CLI entry: registers the TypeScript loader (tsx), then runs the real entry point.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
