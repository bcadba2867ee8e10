// Command helmchart keeps the Helm chart (charts/inferencepool-operator) generated from config/ and
// packages it. Run it through make:
//
//	make helm                       # regenerate crds/, templates/rbac/, templates/prometheusrule.yaml
//	make helm-package VERSION=1.2.3 # write dist/inferencepool-operator-1.2.3.tgz (appVersion v1.2.3)
//
// Generation depends only on config/, and packaging only on the chart and the flags (the files'
// mtime is $SOURCE_DATE_EPOCH, 0 when unset), so running either twice changes nothing; test/helm
// fails when the committed chart differs from what `make helm` would write.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/hack/helmchart/chartgen"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "generate":
		err = generate(os.Args[2:])
	case "package":
		err = pkg(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helmchart:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: helmchart generate [--root DIR] | package --version X.Y.Z [--root DIR] [--out DIR]")
	os.Exit(2)
}

func generate(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ExitOnError)
	root := fs.String("root", ".", "Repository root (holding config/ and charts/).")
	_ = fs.Parse(args)
	files, err := chartgen.Generate(*root)
	if err != nil {
		return err
	}
	if err := chartgen.Write(*root, files); err != nil {
		return err
	}
	for _, p := range files.Paths() {
		fmt.Println("wrote", p)
	}
	return nil
}

func pkg(args []string) error {
	fs := flag.NewFlagSet("package", flag.ExitOnError)
	opts := chartgen.PackageOptions{}
	fs.StringVar(&opts.Root, "root", ".", "Repository root (holding charts/).")
	fs.StringVar(&opts.Version, "version", "", "Chart version, semantic, without a leading v (required); appVersion becomes v<version>.")
	fs.StringVar(&opts.OutDir, "out", "dist", "Directory the .tgz is written to.")
	_ = fs.Parse(args)
	if opts.Version == "" {
		return fmt.Errorf("--version is required")
	}
	// Reproducible builds' convention: the archive's timestamps come from SOURCE_DATE_EPOCH (the
	// release workflow sets the tagged commit's time), else the Unix epoch.
	epoch := int64(0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative Unix time", s)
		}
		epoch = v
	}
	opts.SourceDateEpoch = time.Unix(epoch, 0).UTC()
	path, err := chartgen.Package(opts)
	if err != nil {
		return err
	}
	fmt.Println("wrote", path)
	return nil
}
