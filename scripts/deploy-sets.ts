/**
 * `npm run deploy:sets [-- --check] [--out DIR]`: builds the deploy set of every function in
 * supabase/config.toml as `supabase functions deploy` collects it, prints each one's size against
 * the 20 MB limit (exit 1 if over), and with --check type-checks each set alone with the stack's
 * own Deno cache (npm packages from the registry, no node_modules). Default output: .stack/deploy.
 */
import { readConfiguredFunctions } from "./stack/function-registry.ts";
import {
  boundedBundleBytes,
  buildDeploySets,
  describeDeploySets,
  runIsolatedDeno,
} from "./stack/deploy-sets.ts";
import { MAX_BUNDLE_BYTES } from "./stack/deploy-set.ts";
import { REPO_DIR, stackLayout } from "./stack/stack-layout.ts";

const args = Deno.args;
const layout = stackLayout(Deno.env.toObject());
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 ? args[outIndex + 1] : layout.deploy;

const built = buildDeploySets(REPO_DIR, outDir, readConfiguredFunctions(REPO_DIR));
const { report, oversized } = describeDeploySets(built);
console.log(`deploy sets in ${outDir}:\n${report}`);
if (oversized.length > 0) {
  console.error(`over the 20 MB bundle limit: ${oversized.join(", ")}`);
  Deno.exit(1);
}
if (args.includes("--check")) {
  for (const set of built) {
    await runIsolatedDeno("check", set, layout.denoCache);
    const bound = await boundedBundleBytes(set, layout.denoCache);
    const share = (100 * bound.bytes / MAX_BUNDLE_BYTES).toFixed(1);
    console.log(
      `${set.set.name}: deno check passed; with its ${bound.packages.length} npm packages whole, at most ${bound.bytes} bytes, ${share}% of 20 MB`,
    );
    if (bound.bytes > MAX_BUNDLE_BYTES) oversized.push(set.set.name);
  }
  console.log(`type-checked alone with DENO_DIR ${layout.denoCache}`);
  if (oversized.length > 0) {
    console.error(`may exceed the 20 MB bundle limit: ${oversized.join(", ")}`);
    Deno.exit(1);
  }
}
