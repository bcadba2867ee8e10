package chartgen

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	"helm.sh/helm/v4/pkg/action"
)

// PackageOptions are the inputs of Package.
type PackageOptions struct {
	// Root is the repository root (holding charts/).
	Root string
	// Version is the chart's semantic version, without a leading v (e.g. 1.2.3). The chart's
	// appVersion, and so the default image tag, becomes v<Version>: the tag the release workflow
	// pushes the image under.
	Version string
	// OutDir receives <chart>-<version>.tgz.
	OutDir string
	// SourceDateEpoch is the modification time of every file in the archive. Helm otherwise stamps
	// each file with its mtime on disk, which a checkout sets to the time of the checkout.
	SourceDateEpoch time.Time
}

// Package writes the chart archive exactly as
//
//	SOURCE_DATE_EPOCH=<t> helm package charts/inferencepool-operator --version V --app-version vV -d <out>
//
// does (Helm's package action: its loader, which applies .helmignore, and its archiver), and
// returns its path. The archive depends only on the chart's files and the options: the loader
// reads files in lexical order, every file gets the same mtime and the gzip header none, so two
// runs write the same bytes.
func Package(opts PackageOptions) (string, error) {
	if strings.HasPrefix(opts.Version, "v") {
		return "", fmt.Errorf("version %q: give the semantic version without the leading v", opts.Version)
	}
	if _, err := semver.Parse(opts.Version); err != nil {
		return "", fmt.Errorf("version %q is not a semantic version: %w", opts.Version, err)
	}
	if opts.SourceDateEpoch.IsZero() {
		return "", fmt.Errorf("SourceDateEpoch is required: without it the archive carries the files' mtimes")
	}
	p := action.NewPackage()
	p.Version = opts.Version
	p.AppVersion = "v" + opts.Version
	p.Destination = opts.OutDir
	p.SourceDateEpoch = &opts.SourceDateEpoch
	return p.Run(filepath.Join(opts.Root, filepath.FromSlash(ChartDir)), nil)
}
