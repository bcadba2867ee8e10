// Command bundle writes the operator's OLM bundle (bundle/ and bundle.Dockerfile) from config/,
// the way `operator-sdk generate bundle` lays it out. Run it through make:
//
//	make bundle VERSION=0.1.0
//
// The output depends only on config/ and the flags, so running it twice changes nothing, and
// test/bundle fails when the committed bundle differs from what this would write.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
)

func main() {
	var (
		opts     bundlegen.Options
		channels string
	)
	flag.StringVar(&opts.Root, "root", ".", "Repository root (holding config/); the bundle is written there.")
	flag.StringVar(&opts.Version, "version", "", "Bundle version, semantic, without a leading v (required).")
	flag.StringVar(&opts.Image, "image", "", "Operator image the CSV deploys (default: config/manager's image repository, tagged v<version>).")
	flag.StringVar(&channels, "channels", bundlegen.DefaultChannel, "Comma-separated channels the bundle is published in.")
	flag.StringVar(&opts.DefaultChannel, "default-channel", "", "Default channel of the package (default: the first channel).")
	flag.Parse()
	if opts.Version == "" {
		fmt.Fprintln(os.Stderr, "bundle: --version is required")
		os.Exit(2)
	}
	opts.Channels = strings.Split(channels, ",")

	files, err := bundlegen.Generate(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
	if err := bundlegen.Write(opts.Root, files); err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
	for _, p := range files.Paths() {
		fmt.Println("wrote", p)
	}
}
