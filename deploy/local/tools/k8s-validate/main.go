// Command k8s-validate checks a YAML stream of Kubernetes objects the way
// kube-apiserver checks a create: strict decoding (an unknown or mistyped
// field is an error), defaulting, conversion to the internal version, the
// resource's own create validation and the common metadata checks. It runs
// the apiserver's code (k8s.io/kubernetes), not a re-statement of its rules,
// so the chart-generator's tests can hold what Orbit renders to it without a
// cluster.
//
// Usage: k8s-validate [-namespace NS] < manifests.yaml
// Prints "error: #<n> <Kind>/<name>: <problem>" and "warning: …" lines, n
// counting the objects of the stream from 1; exits 1
// when any object has an error, 2 when the input cannot be read.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	_ "k8s.io/kubernetes/pkg/apis/policy/install"
	"k8s.io/kubernetes/pkg/registry/apps/deployment"
	"k8s.io/kubernetes/pkg/registry/autoscaling/horizontalpodautoscaler"
	"k8s.io/kubernetes/pkg/registry/core/configmap"
	"k8s.io/kubernetes/pkg/registry/core/pod"
	"k8s.io/kubernetes/pkg/registry/core/secret"
	"k8s.io/kubernetes/pkg/registry/core/service"
	"k8s.io/kubernetes/pkg/registry/core/serviceaccount"
	"k8s.io/kubernetes/pkg/registry/networking/networkpolicy"
	"k8s.io/kubernetes/pkg/registry/policy/poddisruptionbudget"
)

type resource struct {
	name     string
	strategy rest.RESTCreateStrategy
}

// The kinds a chart may hold, with the resource (for the request info) and create strategy the apiserver uses for them.
var resources = map[schema.GroupKind]resource{
	{Group: "apps", Kind: "Deployment"}:                     {"deployments", deployment.Strategy},
	{Group: "", Kind: "Service"}:                            {"services", service.Strategy},
	{Group: "", Kind: "ConfigMap"}:                          {"configmaps", configmap.Strategy},
	{Group: "", Kind: "Secret"}:                             {"secrets", secret.Strategy},
	{Group: "", Kind: "ServiceAccount"}:                     {"serviceaccounts", serviceaccount.Strategy},
	{Group: "", Kind: "Pod"}:                                {"pods", pod.Strategy},
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: {"horizontalpodautoscalers", horizontalpodautoscaler.Strategy},
	{Group: "policy", Kind: "PodDisruptionBudget"}:          {"poddisruptionbudgets", poddisruptionbudget.Strategy},
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:     {"networkpolicies", networkpolicy.Strategy},
}

type warnings struct{ messages []string }

func (w *warnings) AddWarning(_, text string) { w.messages = append(w.messages, text) }

func main() {
	namespace := flag.String("namespace", "default", "namespace of objects that name none")
	flag.Parse()
	codecs := serializer.NewCodecFactory(legacyscheme.Scheme, serializer.EnableStrict)
	decoder := codecs.UniversalDecoder()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	failed, count := false, 0
	for {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Printf("error: reading the stream: %v\n", err)
			os.Exit(2)
		}
		if len(bytes.TrimSpace(stripComments(document))) == 0 {
			continue
		}
		count++
		for _, problem := range check(decoder, document, *namespace) {
			kind, rest, _ := strings.Cut(problem, ": ")
			fmt.Printf("%s: #%d %s\n", kind, count, rest)
			if strings.HasPrefix(problem, "error:") {
				failed = true
			}
		}
	}
	fmt.Printf("checked %d object(s)\n", count)
	if failed {
		os.Exit(1)
	}
}

func stripComments(document []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(document, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func check(decoder runtime.Decoder, document []byte, defaultNamespace string) []string {
	json, err := utilyaml.ToJSON(document)
	if err != nil {
		return []string{fmt.Sprintf("error: not YAML: %v", err)}
	}
	obj, gvk, err := decoder.Decode(json, nil, nil)
	label := "object"
	if gvk != nil {
		label = gvk.Kind
	}
	if err != nil && (obj == nil || !runtime.IsStrictDecodingError(err)) {
		return []string{fmt.Sprintf("error: %s: cannot be decoded: %v", label, err)}
	}
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("error: %s: %v", label, err))
	}
	target, known := resources[gvk.GroupKind()]
	if !known {
		return append(problems, fmt.Sprintf("error: %s: not a kind this checker knows (%s)", label, gvk.GroupVersion()))
	}
	meta, err := metaOf(obj)
	if err != nil {
		return append(problems, fmt.Sprintf("error: %s: %v", label, err))
	}
	label = fmt.Sprintf("%s/%s", gvk.Kind, meta.GetName())
	namespace := meta.GetNamespace()
	if namespace == "" {
		namespace = defaultNamespace
		meta.SetNamespace(namespace)
	}
	recorded := &warnings{}
	ctx := genericapirequest.WithNamespace(context.Background(), namespace)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "create", APIGroup: gvk.Group, APIVersion: gvk.Version, Resource: target.name, Namespace: namespace, Name: meta.GetName(),
	})
	ctx = warning.WithWarningRecorder(ctx, recorded)
	rest.FillObjectMetaSystemFields(meta)
	if err := rest.BeforeCreate(target.strategy, ctx, obj); err != nil {
		problems = append(problems, fmt.Sprintf("error: %s: %v", label, err))
	}
	for _, text := range recorded.messages {
		problems = append(problems, fmt.Sprintf("warning: %s: %s", label, text))
	}
	return problems
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	accessor, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, fmt.Errorf("has no metadata")
	}
	return accessor.GetObjectMeta(), nil
}
