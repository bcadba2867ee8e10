// Package helm tests the operator's Helm chart (charts/inferencepool-operator) with Helm's own Go
// SDK (helm.sh/helm/v4), through the code paths the helm CLI runs: `helm lint`, `helm install
// --dry-run` (client-side rendering, values from --set merged by the CLI's values options and
// checked against values.schema.json), `helm install`, `helm upgrade`, `helm uninstall` against a
// source-built API server, and `helm package`. They check that the chart lints clean, renders with
// its defaults and with every optional part on, installs objects the API server accepts, carries
// exactly config/rbac's permissions and config/manager's hardened Deployment, refuses bad values
// with a clear message, is what `make helm` generates from config/, and packages reproducibly.
package helm
