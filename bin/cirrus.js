#!/usr/bin/env node
console.log("hello from cirrus bin", process.argv.slice(2))
