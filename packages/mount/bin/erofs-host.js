#!/usr/bin/env node
import { hostMain } from '../dist/node/bin/host.js';
process.exitCode = await hostMain(process.argv.slice(2));
