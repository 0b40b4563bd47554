package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKubeProxyConfigurationFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kube-proxy.yaml")
	if err := os.WriteFile(cfg, []byte(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clusterCIDR: 10.100.0.0/16
iptables:
  masqueradeBit: 12
  localhostNodePorts: false
nftables:
  masqueradeBit: 10
conntrack:
  tcpBeLiberal: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(casesDir, "shop", "input.yaml")
	tests := []struct {
		reason  string
		args    []string
		want    []string
		notWant []string
	}{
		{
			reason:  "the file's iptables section and cluster CIDR apply",
			args:    []string{"--config", cfg},
			want:    []string{"0x00001000", "! -s 10.100.0.0/16", "! -d 127.0.0.0/8"},
			notWant: []string{"--ctstate INVALID"},
		},
		{
			reason: "flags override the file",
			args:   []string{"--config", cfg, "--iptables-masquerade-bit", "3", "--cluster-cidr", "10.200.0.0/16"},
			want:   []string{"0x00000008", "! -s 10.200.0.0/16"},
		},
		{
			reason: "--proxy-mode nftables takes the nftables section although the file names no mode",
			args:   []string{"--config", cfg, "--proxy-mode", "nftables"},
			want:   []string{"0x00000400"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, append([]string{"render", "-f", input}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q", w)
				}
			}
		})
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "render", "-f", input, "--config", bad); code != ExitBadUsage || !strings.Contains(stderr, "KubeProxyConfiguration") {
		t.Errorf("a config file of another kind: exit %d, stderr %q; want exit 2 naming KubeProxyConfiguration", code, stderr)
	}
}
