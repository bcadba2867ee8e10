package bundlegen

import (
	"fmt"
	"sort"
	"strings"
)

// bundleLabels are the bundle image labels, which metadata/annotations.yaml repeats: the
// registry+v1 format keys, the package and channels, and where the scorecard tests are.
func bundleLabels(opts Options) map[string]string {
	return map[string]string{
		"operators.operatorframework.io.bundle.mediatype.v1":       "registry+v1",
		"operators.operatorframework.io.bundle.manifests.v1":       manifestsDir + "/",
		"operators.operatorframework.io.bundle.metadata.v1":        metadataDir + "/",
		"operators.operatorframework.io.bundle.package.v1":         PackageName,
		"operators.operatorframework.io.bundle.channels.v1":        strings.Join(opts.Channels, ","),
		"operators.operatorframework.io.bundle.channel.default.v1": opts.DefaultChannel,
		"operators.operatorframework.io.test.mediatype.v1":         "scorecard+v1",
		"operators.operatorframework.io.test.config.v1":            scorecardDir + "/",
	}
}

func annotationsFile(labels map[string]string) ([]byte, error) {
	m := map[string]interface{}{}
	for k, v := range labels {
		m[k] = v
	}
	return marshalYAML(map[string]interface{}{"annotations": m})
}

// dockerfile builds the bundle image from the repository root:
// docker build -f bundle.Dockerfile -t <bundle image> .
func dockerfile(labels map[string]string) []byte {
	var keys []string
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(generatedHeader)
	b.WriteString("FROM scratch\n\n")
	b.WriteString("# The same labels as bundle/metadata/annotations.yaml.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "LABEL %s=%s\n", k, labels[k])
	}
	b.WriteString("\n# Copy the files to where the labels say they are.\n")
	fmt.Fprintf(&b, "COPY %s/%s /%s/\n", BundleDir, manifestsDir, manifestsDir)
	fmt.Fprintf(&b, "COPY %s/%s /%s/\n", BundleDir, metadataDir, metadataDir)
	fmt.Fprintf(&b, "COPY %s/%s /%s/\n", BundleDir, scorecardDir, scorecardDir)
	return []byte(b.String())
}
