#!/usr/bin/env node
import { ctlMain } from '../dist/bin/ctl.js';
process.exitCode = await ctlMain(process.argv.slice(2));
