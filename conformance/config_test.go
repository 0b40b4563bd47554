package conformance

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	kpconfig "k8s.io/kube-proxy/config/v1alpha1"
	"sigs.k8s.io/yaml"

	mirror "github.com/kubeproxyc/kubeproxyc/compiler/kpconfig/v1alpha1"
)

// configHead is the part every case shares.
const configHead = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"

// configCases are KubeProxyConfiguration files, good and bad: every field
// of every section, wrong types, unknown fields at each level, both forms
// of the logging flush frequency.
var configCases = []string{
	"",
	"mode: nftables\nclusterCIDR: 10.0.0.0/8,fd00::/48\nhostnameOverride: Node-1\n",
	"featureGates: {AllowServiceExternalIPs: false, Other: true}\n",
	"clientConnection: {kubeconfig: /k, acceptContentTypes: a, contentType: b, qps: 5.5, burst: 10}\n",
	"clientConnection: {qps: fast}\n",
	"logging: {format: json, flushFrequency: 5s, verbosity: 4, vmodule: [{filePattern: 'a*', verbosity: 2}], options: {json: {splitStream: true, infoBufferSize: 1Mi}, text: {infoBufferSize: '100'}}}\n",
	"logging: {flushFrequency: 5000000000}\n",
	"logging: {flushFrequency: soon}\n",
	"logging: {flushFrequency: 1.5}\n",
	"logging: {options: {json: {infoBufferSize: lots}}}\n",
	"logging: {options: {yaml: {}}}\n",
	"logging: {vmodule: [{file: x}]}\n",
	"logging: {verbosity: -1}\n",
	"bindAddress: 0.0.0.0\nhealthzBindAddress: 0.0.0.0:10256\nmetricsBindAddress: 127.0.0.1:10249\nbindAddressHardFail: true\nenableProfiling: true\nshowHiddenMetricsForVersion: '1.35'\n",
	"iptables: {masqueradeBit: 14, masqueradeAll: true, localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 1s}\n",
	"iptables: {masqueradeBit: fourteen}\n",
	"iptables: {masqueradeBit: 3000000000}\n",
	"iptables: {syncPeriod: 30}\n",
	"iptables: {syncPeriod: often}\n",
	"iptables: {colour: blue}\n",
	"ipvs: {syncPeriod: 30s, minSyncPeriod: 0s, scheduler: wrr, excludeCIDRs: [10.0.0.0/8], strictARP: true, tcpTimeout: 1m, tcpFinTimeout: 2m, udpTimeout: 3m}\n",
	"ipvs: {excludeCIDRs: 10.0.0.0/8}\n",
	"nftables: {masqueradeBit: 10, masqueradeAll: true, syncPeriod: 1m, minSyncPeriod: 2s}\n",
	"winkernel: {networkName: n, sourceVip: 1.2.3.4, enableDSR: true, rootHnsEndpointName: r, forwardHealthCheckVip: true}\n",
	"detectLocalMode: InterfaceNamePrefix\ndetectLocal: {bridgeInterface: br0, interfaceNamePrefix: veth}\n",
	"detectLocal: {bridge: br0}\n",
	"nodePortAddresses: [10.0.0.0/8, primary]\noomScoreAdj: -999\nportRange: 30000-32767\nwindowsRunAsService: true\nconfigSyncPeriod: 15m\n",
	"nodePortAddresses: primary\n",
	"oomScoreAdj: 1.5\n",
	"conntrack: {maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: 24h, tcpCloseWaitTimeout: 1h, tcpBeLiberal: true, udpTimeout: 30s, udpStreamTimeout: 2m}\n",
	"conntrack: {tcpEstablishedTimeout: null, min: null}\n",
	"conntrack: {maxPerCore: many}\n",
	"unknownTopLevel: 1\n",
	"metadata: {name: x}\n",
	"mode: [iptables]\n",
	"detectLocalMode: [a]\n",
	"logging: x\n",
	"logging: {vmodule: x}\n",
	"logging: {options: x}\n",
	"logging: {options: {text: x}}\n",
	"clientConnection: x\n",
	"iptables: x\n",
	"conntrack: {udpTimeout: [1]}\n",
	"featureGates: {A: maybe}\n",
}

// TestKubeProxyConfigurationSchema checks that kubeproxyc's copy of the
// KubeProxyConfiguration schema (compiler/kpconfig) reads every case
// as kube-proxy's own type does: the same error, or the same values.
func TestKubeProxyConfigurationSchema(t *testing.T) {
	for _, body := range configCases {
		data := []byte(configHead + body)
		var want kpconfig.KubeProxyConfiguration
		var got mirror.KubeProxyConfiguration
		errWant := yaml.UnmarshalStrict(data, &want)
		errGot := yaml.UnmarshalStrict(data, &got)
		if diff := cmp.Diff(errString(errWant), errString(errGot)); diff != "" {
			t.Errorf("%q: error (-kube-proxy +kubeproxyc):\n%s", body, diff)
			continue
		}
		if errWant != nil {
			continue
		}
		wantJSON, err := json.Marshal(&want)
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, err := json.Marshal(&got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(wantJSON), string(gotJSON)); diff != "" {
			t.Errorf("%q: values (-kube-proxy +kubeproxyc):\n%s", body, diff)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
