#!/usr/bin/env node
// The `cairn` command. It lives outside dist/ so that npm can link it at install time, before the
// build (`tsc -b`, run by `prepare`) has produced the CLI it loads.
import '../dist/src/cli/main.js';
