// `dsat demo` (what `npm start` runs). Until the orchestrator, satellites and pm2 land, it shows
// the placement engine on the example topology map: where 12 job keys go, and what happens to
// them when a host fails.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { compileCrushText, defaultReweights, hashKey, Mapper } from "../crush/index.ts";

const DEMO_MAP = fileURLToPath(new URL("../../topologies/demo.crush.txt", import.meta.url));

export function demoCommand(): Command {
  return new Command("demo").description("run the demo (what `npm start` runs)").action(() => {
    const map = compileCrushText(readFileSync(DEMO_MAP, "utf8"), DEMO_MAP);
    const mapper = new Mapper(map);
    const reweights = defaultReweights(map);
    const name = (item: number) => map.itemNames.get(item) ?? `osd.${item}`;
    const keys = Array.from({ length: 12 }, (_, i) => `job-${i}`);
    const before = keys.map((key) => mapper.map(0, hashKey(key), 3, reweights));
    console.log(
      "dsat demo: 3 racks x 2 hosts, rule 0 = one replica per rack (chooseleaf firstn 0 type rack)\n",
    );
    keys.forEach((key, i) => {
      console.log(
        `  ${key.padEnd(7)} x=${String(hashKey(key)).padStart(10)} -> ${before[i].map(name).join(", ")}`,
      );
    });
    const failed = map.itemNames.get(0) ?? "osd.0";
    reweights[0] = 0;
    console.log(`\n${failed} fails (reweight 0): only the keys that used it move.\n`);
    let moved = 0;
    keys.forEach((key, i) => {
      const after = mapper.map(0, hashKey(key), 3, reweights);
      const changed = after.join() !== before[i].join();
      if (changed) moved++;
      console.log(`  ${key.padEnd(7)} -> ${after.map(name).join(", ")}${changed ? "   (moved)" : ""}`);
    });
    console.log(
      `\n${moved} of ${keys.length} keys moved. Try: ./bin/dsat crush tree -i topologies/demo.crush.txt`,
    );
  });
}
