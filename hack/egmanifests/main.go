// Command egmanifests writes Envoy Gateway's install objects for the system tests
// (test/envoygateway/manifests/*.yaml) from the chart in the Envoy Gateway module go.mod
// requires: `make eg-manifests`, after an upgrade of Envoy Gateway (docs/envoy-gateway.md).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway/render"
)

func main() {
	files, err := render.Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "egmanifests:", err)
		os.Exit(1)
	}
	dir := filepath.Join("test", "envoygateway", "manifests")
	for _, name := range render.Names() {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "egmanifests:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}
