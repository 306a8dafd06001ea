import { main } from "/work/main/cli/main.ts";
process.exitCode = await main(process.argv.slice(2));
