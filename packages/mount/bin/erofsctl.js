#!/usr/bin/env node
import { ctlMain } from '../dist/node/bin/ctl.js';
process.exitCode = await ctlMain(process.argv.slice(2));
