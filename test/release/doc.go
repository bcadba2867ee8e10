// Package release checks the release workflow (.github/workflows/release.yaml), which cannot run
// on the project's build machines (no container runtime, no registry): actionlint finds no error
// in it, it runs only on version tags, every `make` target it calls exists, every file it names
// exists, it derives every version (image tag, chart version and appVersion, bundle version) from
// the tag the same way, and it publishes the image the chart and config/manager deploy. For the
// kubectl plugin (plugin_test.go) it runs the workflow's package and krew render scripts, with
// stand-ins for go and git: the plugin is built from ./cmd/kubectl-inferencepool for exactly
// linux and darwin on amd64 and arm64, and the krew manifest hack/krew/inferencepool.yaml is valid,
// lists those platforms and, rendered, points at the archives built, with their checksums.
package release
