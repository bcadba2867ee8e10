// Package release checks the release workflow (.github/workflows/release.yaml), which cannot run
// on the project's build machines (no container runtime, no registry): actionlint finds no error
// in it, it runs only on version tags, every `make` target it calls exists, every file it names
// exists, it derives every version (image tag, chart version and appVersion, bundle version) from
// the tag the same way, and it publishes the image the chart and config/manager deploy.
package release
