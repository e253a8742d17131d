package kube

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// environment sets the variables; those from Secrets go to a file of
// mode 0600 (environment_files) rather than into the definition.
func (b *defBuilder) environment() error {
	env := map[string]string{}
	for i, from := range b.c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := b.configMap(from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
			if err != nil {
				return fmt.Errorf("envFrom[%d]: %w", i, err)
			}
			if cm != nil {
				for k, v := range cm.Data {
					env[from.Prefix+k] = v
				}
			}
		case from.SecretRef != nil:
			s, err := b.secret(from.SecretRef.Name, from.SecretRef.Optional)
			if err != nil {
				return fmt.Errorf("envFrom[%d]: %w", i, err)
			}
			for _, k := range slices.Sorted(maps.Keys(secretData(s))) {
				if err := b.addSecretEnv(from.Prefix+k, secretData(s)[k]); err != nil {
					return fmt.Errorf("envFrom[%d]: %w", i, err)
				}
			}
		default:
			return fmt.Errorf("envFrom[%d]: want configMapRef or secretRef", i)
		}
	}
	for i, e := range b.c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
			continue
		}
		switch vf := e.ValueFrom; {
		case vf.ConfigMapKeyRef != nil:
			cm, err := b.configMap(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Optional)
			if err != nil {
				return fmt.Errorf("env[%d] %s: %w", i, e.Name, err)
			}
			v, ok := "", false
			if cm != nil {
				v, ok = cm.Data[vf.ConfigMapKeyRef.Key]
			}
			if !ok && !isTrue(vf.ConfigMapKeyRef.Optional) {
				return fmt.Errorf("env[%d] %s: ConfigMap %s has no key %s", i, e.Name, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)
			}
			if ok {
				env[e.Name] = v
			}
		case vf.SecretKeyRef != nil:
			s, err := b.secret(vf.SecretKeyRef.Name, vf.SecretKeyRef.Optional)
			if err != nil {
				return fmt.Errorf("env[%d] %s: %w", i, e.Name, err)
			}
			v, ok := secretData(s)[vf.SecretKeyRef.Key]
			if !ok && !isTrue(vf.SecretKeyRef.Optional) {
				return fmt.Errorf("env[%d] %s: Secret %s has no key %s", i, e.Name, vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)
			}
			if ok {
				delete(env, e.Name)
				if err := b.addSecretEnv(e.Name, v); err != nil {
					return fmt.Errorf("env[%d]: %w", i, err)
				}
			}
		default:
			b.warn(fmt.Sprintf("env[%d] %s: valueFrom other than configMapKeyRef and secretKeyRef (the downward API) is not supported: not set", i, e.Name))
		}
	}
	if len(env) > 0 {
		b.container["environment"] = env
	}
	if len(b.secretEnv) > 0 {
		p := path.Join(b.dir, b.c.Name+".env")
		b.plan.Files = append(b.plan.Files, PlannedFile{Path: p, Data: []byte(strings.Join(b.secretEnv, "\n") + "\n"), Mode: 0o600})
		b.container["environment_files"] = []string{p}
	}
	return nil
}

func (b *defBuilder) addSecretEnv(key string, value []byte) error {
	if strings.ContainsAny(key, "= \t\n\x00") || key == "" {
		return fmt.Errorf("%q is not a variable name", key)
	}
	if strings.ContainsAny(string(value), "\n\r\x00") || strings.TrimLeft(string(value), " \t") != string(value) {
		return fmt.Errorf("the value of %s has a line break, a NUL or leading blanks: it cannot be an environment variable here (mount the Secret as a file)", key)
	}
	b.secretEnv = append(b.secretEnv, key+"="+string(value))
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

func (b *defBuilder) configMap(name string, optional *bool) (*ConfigMap, error) {
	if cm := b.configMaps[name]; cm != nil {
		return cm, nil
	}
	if isTrue(optional) {
		return nil, nil
	}
	return nil, fmt.Errorf("no ConfigMap %s in these files", name)
}

func (b *defBuilder) secret(name string, optional *bool) (*Secret, error) {
	if s := b.secrets[name]; s != nil {
		return s, nil
	}
	if isTrue(optional) {
		return nil, nil
	}
	return nil, fmt.Errorf("no Secret %s in these files", name)
}

// secretData merges a Secret's data and stringData (which wins, as the
// API server does it).
func secretData(s *Secret) map[string][]byte {
	out := map[string][]byte{}
	if s == nil {
		return out
	}
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
}
