package kube

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The types below are the subset of the Kubernetes API (core/v1,
// apps/v1) that dockah reads and writes, with the API's JSON names, so
// that a manifest decodes into them strictly. A field a cluster knows but
// dockah cannot honour on one host is decoded as Ignored and reported
// (see ignored.go); any other field is an error.

// TypeMeta is the apiVersion and kind every object starts with.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is an object's metadata.
type ObjectMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	// Set by a cluster; kept by `kubectl get -o yaml`, meaningless here.
	CreationTimestamp *json.RawMessage `json:"creationTimestamp,omitempty"`
	UID               *json.RawMessage `json:"uid,omitempty"`
	ResourceVersion   *json.RawMessage `json:"resourceVersion,omitempty"`
	Generation        *json.RawMessage `json:"generation,omitempty"`
	ManagedFields     *json.RawMessage `json:"managedFields,omitempty"`
	OwnerReferences   *json.RawMessage `json:"ownerReferences,omitempty"`
	GenerateName      *json.RawMessage `json:"generateName,omitempty"`
	SelfLink          *json.RawMessage `json:"selfLink,omitempty"`
}

// Pod is a v1 Pod.
type Pod struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     PodSpec          `json:"spec"`
	Status   *json.RawMessage `json:"status,omitempty"`
}

// PodSpec is a Pod's spec and a Deployment's template spec.
type PodSpec struct {
	Containers                    []Container         `json:"containers"`
	InitContainers                []Container         `json:"initContainers,omitempty"`
	Volumes                       []Volume            `json:"volumes,omitempty"`
	RestartPolicy                 string              `json:"restartPolicy,omitempty"`
	Hostname                      string              `json:"hostname,omitempty"`
	HostAliases                   []HostAlias         `json:"hostAliases,omitempty"`
	HostNetwork                   bool                `json:"hostNetwork,omitempty"`
	SecurityContext               *PodSecurityContext `json:"securityContext,omitempty"`
	TerminationGracePeriodSeconds *int64              `json:"terminationGracePeriodSeconds,omitempty"`

	// Scheduling and cluster identity: nothing to do on one host.
	NodeSelector              Ignored `json:"nodeSelector,omitzero"`
	NodeName                  Ignored `json:"nodeName,omitzero"`
	Affinity                  Ignored `json:"affinity,omitzero"`
	Tolerations               Ignored `json:"tolerations,omitzero"`
	TopologySpreadConstraints Ignored `json:"topologySpreadConstraints,omitzero"`
	PriorityClassName         Ignored `json:"priorityClassName,omitzero"`
	SchedulerName             Ignored `json:"schedulerName,omitzero"`
	ServiceAccountName        Ignored `json:"serviceAccountName,omitzero"`
	ServiceAccount            Ignored `json:"serviceAccount,omitzero"`
	AutomountServiceAcctToken Ignored `json:"automountServiceAccountToken,omitzero"`
	ImagePullSecrets          Ignored `json:"imagePullSecrets,omitzero"`
	DNSPolicy                 Ignored `json:"dnsPolicy,omitzero"`
	EnableServiceLinks        Ignored `json:"enableServiceLinks,omitzero"`
	Priority                  Ignored `json:"priority,omitzero"`
	PreemptionPolicy          Ignored `json:"preemptionPolicy,omitzero"`
	RuntimeClassName          Ignored `json:"runtimeClassName,omitzero"`
}

// HostAlias is an /etc/hosts entry of every container of a Pod.
type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames,omitempty"`
}

// PodSecurityContext is the Pod-wide part of the security settings.
type PodSecurityContext struct {
	RunAsUser      *int64          `json:"runAsUser,omitempty"`
	RunAsGroup     *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot   *bool           `json:"runAsNonRoot,omitempty"`
	SELinuxOptions *SELinuxOptions `json:"seLinuxOptions,omitempty"`
	SeccompProfile *SeccompProfile `json:"seccompProfile,omitempty"`
	FSGroup        Ignored         `json:"fsGroup,omitzero"`
}

// Container is one container of a Pod.
type Container struct {
	Name            string           `json:"name"`
	Image           string           `json:"image"`
	Command         []string         `json:"command,omitempty"`
	Args            []string         `json:"args,omitempty"`
	WorkingDir      string           `json:"workingDir,omitempty"`
	Ports           []ContainerPort  `json:"ports,omitempty"`
	Env             []EnvVar         `json:"env,omitempty"`
	EnvFrom         []EnvFromSource  `json:"envFrom,omitempty"`
	Resources       *Resources       `json:"resources,omitempty"`
	VolumeMounts    []VolumeMount    `json:"volumeMounts,omitempty"`
	ReadinessProbe  *Probe           `json:"readinessProbe,omitempty"`
	LivenessProbe   *Probe           `json:"livenessProbe,omitempty"`
	StartupProbe    *Probe           `json:"startupProbe,omitempty"`
	ImagePullPolicy string           `json:"imagePullPolicy,omitempty"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty"`
	Stdin           bool             `json:"stdin,omitempty"`
	TTY             bool             `json:"tty,omitempty"`

	TerminationMessagePath   Ignored `json:"terminationMessagePath,omitzero"`
	TerminationMessagePolicy Ignored `json:"terminationMessagePolicy,omitzero"`
}

// ContainerPort is a port a container listens on.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostPort      int32  `json:"hostPort,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// EnvVar is one environment variable, literal or from a ConfigMap or
// Secret key.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource is where an EnvVar's value comes from.
type EnvVarSource struct {
	ConfigMapKeyRef *KeySelector `json:"configMapKeyRef,omitempty"`
	SecretKeyRef    *KeySelector `json:"secretKeyRef,omitempty"`
	FieldRef        Ignored      `json:"fieldRef,omitzero"`
}

// KeySelector names a key of a ConfigMap or Secret.
type KeySelector struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Optional *bool  `json:"optional,omitempty"`
}

// EnvFromSource takes every key of a ConfigMap or Secret as a variable.
type EnvFromSource struct {
	Prefix       string          `json:"prefix,omitempty"`
	ConfigMapRef *LocalReference `json:"configMapRef,omitempty"`
	SecretRef    *LocalReference `json:"secretRef,omitempty"`
}

// LocalReference names an object of the same namespace.
type LocalReference struct {
	Name     string `json:"name"`
	Optional *bool  `json:"optional,omitempty"`
}

// Resources are a container's requests and limits ("memory", "cpu").
type Resources struct {
	Limits   map[string]Quantity `json:"limits,omitempty"`
	Requests map[string]Quantity `json:"requests,omitempty"`
}

// Quantity is a Kubernetes quantity as written ("64Mi", "500m", "1").
type Quantity string

// UnmarshalJSON takes a quantity written as a string or a number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*q = Quantity(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("quantity %s: want a string or a number", b)
	}
	*q = Quantity(n.String())
	return nil
}

// VolumeMount mounts a volume of the Pod in a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	SubPath   string `json:"subPath,omitempty"`
}

// Volume is a volume of a Pod.
type Volume struct {
	Name                  string                 `json:"name"`
	HostPath              *HostPathSource        `json:"hostPath,omitempty"`
	EmptyDir              *EmptyDirSource        `json:"emptyDir,omitempty"`
	PersistentVolumeClaim *ClaimSource           `json:"persistentVolumeClaim,omitempty"`
	ConfigMap             *ConfigMapVolumeSource `json:"configMap,omitempty"`
	Secret                *SecretVolumeSource    `json:"secret,omitempty"`
	// Projected is what a cluster adds to a Pod it runs (the service
	// account's token, kube-api-access-*): there is no API server here.
	Projected Ignored `json:"projected,omitzero"`
}

// HostPathSource is a directory of the host.
type HostPathSource struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// EmptyDirSource is a scratch directory; Medium "Memory" is a tmpfs.
type EmptyDirSource struct {
	Medium    string    `json:"medium,omitempty"`
	SizeLimit *Quantity `json:"sizeLimit,omitempty"`
}

// ClaimSource mounts a PersistentVolumeClaim: a named volume here.
type ClaimSource struct {
	ClaimName string `json:"claimName"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// KeyToPath puts one key of a ConfigMap or Secret at a path.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
}

// ConfigMapVolumeSource shows a ConfigMap's keys as files.
type ConfigMapVolumeSource struct {
	Name        string      `json:"name"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

// SecretVolumeSource shows a Secret's keys as files.
type SecretVolumeSource struct {
	SecretName  string      `json:"secretName"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

// Probe is a readiness, liveness or startup probe.
type Probe struct {
	Exec                *ExecAction      `json:"exec,omitempty"`
	HTTPGet             *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket           *TCPSocketAction `json:"tcpSocket,omitempty"`
	InitialDelaySeconds int32            `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       int32            `json:"periodSeconds,omitempty"`
	TimeoutSeconds      int32            `json:"timeoutSeconds,omitempty"`
	FailureThreshold    int32            `json:"failureThreshold,omitempty"`
	SuccessThreshold    int32            `json:"successThreshold,omitempty"`
}

// ExecAction runs a command in the container.
type ExecAction struct {
	Command []string `json:"command,omitempty"`
}

// HTTPGetAction asks a URL of the container.
type HTTPGetAction struct {
	Path   string      `json:"path,omitempty"`
	Port   IntOrString `json:"port"`
	Host   string      `json:"host,omitempty"`
	Scheme string      `json:"scheme,omitempty"`
}

// TCPSocketAction connects to a port of the container.
type TCPSocketAction struct {
	Port IntOrString `json:"port"`
}

// SecurityContext is a container's security settings.
type SecurityContext struct {
	RunAsUser                *int64          `json:"runAsUser,omitempty"`
	RunAsGroup               *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool           `json:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation,omitempty"`
	Privileged               *bool           `json:"privileged,omitempty"`
	Capabilities             *Capabilities   `json:"capabilities,omitempty"`
	SeccompProfile           *SeccompProfile `json:"seccompProfile,omitempty"`
	SELinuxOptions           *SELinuxOptions `json:"seLinuxOptions,omitempty"`
}

// Capabilities are added to and dropped from the default set; names
// without the CAP_ prefix.
type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// SeccompProfile is RuntimeDefault, Unconfined or Localhost.
type SeccompProfile struct {
	Type             string `json:"type"`
	LocalhostProfile string `json:"localhostProfile,omitempty"`
}

// SELinuxOptions is a process label.
type SELinuxOptions struct {
	User  string `json:"user,omitempty"`
	Role  string `json:"role,omitempty"`
	Type  string `json:"type,omitempty"`
	Level string `json:"level,omitempty"`
}

// Deployment is an apps/v1 Deployment.
type Deployment struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     DeploymentSpec   `json:"spec"`
	Status   *json.RawMessage `json:"status,omitempty"`
}

// DeploymentSpec is a Deployment's spec.
type DeploymentSpec struct {
	Replicas             *int32          `json:"replicas,omitempty"`
	Selector             *LabelSelector  `json:"selector"`
	Template             PodTemplateSpec `json:"template"`
	Strategy             Ignored         `json:"strategy,omitzero"`
	RevisionHistoryLimit Ignored         `json:"revisionHistoryLimit,omitzero"`
	MinReadySeconds      Ignored         `json:"minReadySeconds,omitzero"`
	ProgressDeadline     Ignored         `json:"progressDeadlineSeconds,omitzero"`
	Paused               Ignored         `json:"paused,omitzero"`
}

// LabelSelector selects by labels.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// PodTemplateSpec is the Pod a Deployment makes.
type PodTemplateSpec struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     PodSpec    `json:"spec"`
}

// Service is a v1 Service.
type Service struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     ServiceSpec      `json:"spec"`
	Status   *json.RawMessage `json:"status,omitempty"`
}

// ServiceSpec is a Service's spec.
type ServiceSpec struct {
	Type            string            `json:"type,omitempty"`
	Selector        map[string]string `json:"selector,omitempty"`
	Ports           []ServicePort     `json:"ports"`
	ClusterIP       Ignored           `json:"clusterIP,omitzero"`
	ClusterIPs      Ignored           `json:"clusterIPs,omitzero"`
	SessionAffinity Ignored           `json:"sessionAffinity,omitzero"`
	IPFamilies      Ignored           `json:"ipFamilies,omitzero"`
	IPFamilyPolicy  Ignored           `json:"ipFamilyPolicy,omitzero"`
	InternalPolicy  Ignored           `json:"internalTrafficPolicy,omitzero"`
	ExternalPolicy  Ignored           `json:"externalTrafficPolicy,omitzero"`
	AllocateLBPorts Ignored           `json:"allocateLoadBalancerNodePorts,omitzero"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string      `json:"name,omitempty"`
	Protocol   string      `json:"protocol,omitempty"`
	Port       int32       `json:"port"`
	TargetPort IntOrString `json:"targetPort,omitzero"`
	NodePort   int32       `json:"nodePort,omitempty"`
}

// ConfigMap is a v1 ConfigMap.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	Metadata   ObjectMeta        `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}

// Secret is a v1 Secret; Data is base64 in the manifest.
type Secret struct {
	TypeMeta   `json:",inline"`
	Metadata   ObjectMeta        `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}

// PersistentVolumeClaim is a v1 PersistentVolumeClaim: a named volume.
type PersistentVolumeClaim struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     ClaimSpec        `json:"spec"`
	Status   *json.RawMessage `json:"status,omitempty"`
}

// ClaimSpec is a PersistentVolumeClaim's spec.
type ClaimSpec struct {
	AccessModes      []string   `json:"accessModes,omitempty"`
	Resources        *Resources `json:"resources,omitempty"`
	StorageClassName *string    `json:"storageClassName,omitempty"`
	VolumeMode       *string    `json:"volumeMode,omitempty"`
}

// IntOrString is a port number or a port name.
type IntOrString struct {
	IsString bool
	Int      int32
	String   string
}

// Int returns an IntOrString holding a number.
func Int(n int32) IntOrString { return IntOrString{Int: n} }

// IsZero reports whether nothing is set (for omitempty).
func (v IntOrString) IsZero() bool { return !v.IsString && v.Int == 0 }

// MarshalJSON writes a number or a string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.String)
	}
	return []byte(strconv.Itoa(int(v.Int))), nil
}

// UnmarshalJSON reads a number or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString = true
		return json.Unmarshal(b, &v.String)
	}
	var n int32
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a port number or name, not %s", b)
	}
	*v = IntOrString{Int: n}
	return nil
}

// Ignored is a field a cluster uses that means nothing on one host: it
// is decoded (so strict decoding accepts it) and reported.
type Ignored struct{ json.RawMessage }

// IsSet reports whether the manifest had the field.
func (i Ignored) IsSet() bool { return len(i.RawMessage) > 0 }

// UnmarshalJSON keeps the raw value.
func (i *Ignored) UnmarshalJSON(b []byte) error {
	i.RawMessage = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the value back, or null.
func (i Ignored) MarshalJSON() ([]byte, error) {
	if len(i.RawMessage) == 0 {
		return []byte("null"), nil
	}
	return i.RawMessage, nil
}

// IsZero reports whether the manifest did not have the field.
func (i Ignored) IsZero() bool { return !i.IsSet() }
