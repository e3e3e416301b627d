// The page: page.html with uPlot (a dependency, read from node_modules) and page.js inlined, built
// once per process. Self-contained: nothing else to fetch, no build step.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

let built: string | null = null;

export function pageHtml(): string {
  built ??= build();
  return built;
}

function build(): string {
  const require = createRequire(import.meta.url);
  const read = (specifier: string) => {
    try {
      return readFileSync(require.resolve(specifier), "utf8");
    } catch (error) {
      throw new Error(`the dashboard needs ${specifier} (npm install): ${(error as Error).message}`);
    }
  };
  const own = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), "utf8");
  // Function replacers: the inlined code may hold `$&` and the like.
  return own("page.html")
    .replace("/*UPLOT_CSS*/", () => read("uplot/dist/uPlot.min.css"))
    .replace("/*UPLOT_JS*/", () => scriptSafe(read("uplot/dist/uPlot.iife.min.js")))
    .replace("/*PAGE_JS*/", () => scriptSafe(own("page.js")));
}

/** Inline script text must not close its element early. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}
