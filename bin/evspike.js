#!/usr/bin/env node
// Entry point of the `evspike` command; the code is built into dist/ by `npm ci` (prepare).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
