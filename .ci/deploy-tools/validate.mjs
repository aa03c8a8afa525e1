// Validates every object of a multi-document YAML file (e.g. `kubectl kustomize` output) against the Kubernetes,
// KEDA and prometheus-operator schemas shipped in the npm packages kubernetes-models, @kubernetes-models/keda and
// @kubernetes-models/prometheus-operator (offline: the schemas are in the packages).
//   node validate.mjs FILE.yaml   → prints "ok KIND NAME" per object; exit 1 on the first invalid or unknown kind.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const packages = {
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

const file = process.argv[2];
let failed = false;
for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
  const obj = doc.toJS();
  if (!obj) continue;
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const pkg = packages[group] ?? "kubernetes-models";
  const path = group ? `${pkg}/${group}/${version}/${obj.kind}` : `${pkg}/${version}/${obj.kind}`;
  let Model;
  try {
    Model = (await import(path))[obj.kind];
  } catch {
    console.error(`unknown kind ${obj.apiVersion} ${obj.kind} (${obj.metadata?.name}): no schema`);
    failed = true;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok ${obj.kind} ${obj.metadata?.name}`);
  } catch (e) {
    console.error(`invalid ${obj.kind} ${obj.metadata?.name}: ${e.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
