/**
 * values.schema.json: helm checks every install, upgrade, lint and template
 * against it, so a typo in an override (`replicas:` for `replicaCount:`) or
 * a wrong type fails before anything reaches the cluster.
 */
import { CHART_OWN_LABELS } from '@orbit/lib';

type Schema = Record<string, unknown>;

const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, extra: Schema = {}): Schema => ({ type: 'integer', description, minimum, ...extra });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const stringMap = (description: string): Schema => ({ type: 'object', description, additionalProperties: { type: 'string' } });

/*
 * What the API server takes in names and maps, as patterns both helm (Go's
 * RE2: no look-ahead) and JavaScript read: a value a user sets at install
 * that it would refuse is refused by helm first, naming the value. What
 * draft-07 cannot compare, one value against another, the templates check
 * with `fail` where it is simple (a port twice: orbit.checkPorts); requests
 * above limits (quantities in different units) are left to the API server.
 */
const DNS_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const QUALIFIED_NAME = { type: 'string', maxLength: 317, pattern: `^(${DNS_SUBDOMAIN}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$` };
const LABEL_VALUE = { type: 'string', pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$' };
/** Labels (and a node selector): qualified-name keys, label values. */
const labelMap = (description: string): Schema => ({ type: 'object', description, propertyNames: QUALIFIED_NAME, additionalProperties: LABEL_VALUE });
/** Labels on every object: not one of the keys the chart sets itself (the selector's among them). */
const commonLabelMap = (description: string): Schema => ({
  ...labelMap(description), propertyNames: { allOf: [QUALIFIED_NAME, { not: { enum: [...CHART_OWN_LABELS] } }] },
});
/** Annotations: qualified-name keys, any text. */
const annotationMap = (description: string): Schema => ({ type: 'object', description, propertyNames: QUALIFIED_NAME, additionalProperties: { type: 'string' } });
/** ConfigMap keys: letters, digits, '-', '_' and '.', not '.' nor starting with '..'. */
const CONFIG_MAP_KEY = { type: 'string', maxLength: 253, pattern: '^([-_a-zA-Z0-9][-._a-zA-Z0-9]*|\\.[-_a-zA-Z0-9][-._a-zA-Z0-9]*)$' };
const object = (description: string, properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object', description, properties, required, additionalProperties: false,
});

// A number too: `--set resources.limits.cpu=1` sets one, and the API server takes it as the quantity 1.
const quantity = { type: ['string', 'number'], minimum: 0, pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$' };
const resources = (description: string): Schema => object(description, {
  requests: object('What the scheduler reserves.', { cpu: { ...quantity, description: 'CPU, e.g. 100m.' }, memory: { ...quantity, description: 'Memory, e.g. 128Mi.' } }),
  limits: object('The most the container may use.', { cpu: { ...quantity, description: 'CPU, e.g. 500m.' }, memory: { ...quantity, description: 'Memory, e.g. 256Mi.' } }),
});
/** A probe; liveness and startup probes pass on one success, as the API server requires (`successThreshold: 1` only). */
const probe = (successThreshold: Schema): Schema => ({
  type: 'object',
  description: 'A Kubernetes probe (exec or tcpSocket), or {} for none.',
  properties: {
    exec: object('Command run in the container.', { command: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Argv; exit 0 passes.' } }),
    tcpSocket: object('TCP connect.', { port: { type: ['string', 'integer'], description: 'Port number or container port name.' } }),
    initialDelaySeconds: int('Seconds before the first check.', 0),
    periodSeconds: int('Seconds between checks.', 1),
    timeoutSeconds: int('Seconds a check may take.', 1),
    failureThreshold: int('Failed checks in a row before acting.', 1),
    successThreshold,
  },
  additionalProperties: false,
});
/** No value passes: the key may not be there. */
const NEVER: Schema = { not: {} };
/*
 * Seccomp: RuntimeDefault, or Localhost with the profile's path under the
 * kubelet's seccomp directory, which the API server wants with Localhost and
 * refuses without it (relative, no `..`).
 */
const seccompProfile: Schema = {
  type: 'object',
  description: 'Seccomp profile: RuntimeDefault, or Localhost with localhostProfile.',
  properties: {
    type: str('Profile type.', { enum: ['RuntimeDefault', 'Localhost'] }),
    localhostProfile: str('With type Localhost: the profile file, relative to the kubelet\'s seccomp directory (e.g. profiles/app.json).', {
      minLength: 1, pattern: '^[^/]', not: { pattern: '(^|/)\\.\\.(/|$)' },
    }),
  },
  required: ['type'],
  additionalProperties: false,
  if: { properties: { type: { const: 'Localhost' } } },
  then: { properties: { localhostProfile: { type: 'string' } }, required: ['localhostProfile'] },
  else: { properties: { localhostProfile: NEVER } },
};
const digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' };
/** One lifecycle hook: a command, Kubernetes' own sleep, or an HTTP GET; exactly one. */
const lifecycleHandler = (description: string): Schema => ({
  type: 'object', description, minProperties: 1, maxProperties: 1, additionalProperties: false,
  properties: {
    exec: object('A command run in the container (the image must have the program: distroless images have no sleep).', {
      command: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Argv.' },
    }),
    sleep: object('Sleep in the kubelet, no program needed (Kubernetes 1.30 and later).', { seconds: int('Seconds.', 0) }),
    httpGet: {
      type: 'object', description: 'An HTTP GET against the container, as Kubernetes has it (path, scheme, host, httpHeaders beside port).', required: ['port'],
      properties: { port: { type: ['string', 'integer'], description: 'Port number or container port name.' } },
    },
  },
});
const dropAll = { type: 'array', items: { type: 'string' }, contains: { const: 'ALL' }, description: 'Dropped capabilities; must include ALL.' };
/** The test pod's: restricted whatever allowRoot says. */
const containerSecurityContext: Schema = object('Container security context.', {
  allowPrivilegeEscalation: { const: false, description: 'No setuid escalation.' },
  privileged: { const: false, description: 'Never privileged.' },
  readOnlyRootFilesystem: bool('Read-only root; /tmp and writablePaths are emptyDirs.'),
  runAsNonRoot: { const: true, description: 'Never root.' },
  capabilities: object('Linux capabilities.', { drop: dropAll }),
  seccompProfile,
});
/*
 * The app's: what the restricted Pod Security Standard allows, and, only
 * with allowRoot, root and added capabilities (an image that binds port 80
 * or chowns its files as root: nginx's, httpd's). Never privileged, never
 * privilege escalation; CAP_SYS_ADMIN is refused with escalation off.
 */
const appContainerSecurityContext: Schema = object('Container security context; runAsNonRoot false and capabilities.add need allowRoot.', {
  allowPrivilegeEscalation: { const: false, description: 'No setuid escalation.' },
  privileged: { const: false, description: 'Never privileged.' },
  readOnlyRootFilesystem: bool('Read-only root; /tmp and writablePaths are emptyDirs.'),
  runAsNonRoot: bool('Refuse to start as root; false only with allowRoot.'),
  capabilities: object('Linux capabilities.', {
    drop: dropAll,
    add: {
      type: 'array', description: 'Capabilities added back after the drop, only with allowRoot (e.g. CHOWN, SETUID, SETGID, NET_BIND_SERVICE).',
      items: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$', not: { const: 'CAP_SYS_ADMIN' } },
    },
  }, ['drop']),
  seccompProfile,
});
/**
 * `then` of a setting only allowRoot permits: the refusal names allowRoot
 * (helm prints `allowRoot: allowRoot does not match: true`), where one
 * if/else over the whole context said only `Must validate "else" as "if" was
 * not valid`. Only what the restricted Pod Security Standard forbids needs it:
 * UID 0, runAsNonRoot false, added capabilities; a GID or fsGroup of 0 does
 * not (an OpenShift-style `USER 1001:0` image reads its files through it).
 */
const onlyWithAllowRoot = (path: readonly [string, string, ...string[]], value: Schema): Schema => {
  const nested = [...path].reverse().reduce<Schema>((inner, key) => ({ type: 'object', properties: { [key]: inner }, required: [key] }), value);
  return { if: nested, then: { properties: { allowRoot: { const: true } }, required: ['allowRoot'] } };
};

/** Kubernetes' sysctl name: dot- or slash-separated segments of lower-case letters, digits, `-` and `_`. */
const SYSCTL_NAME = { type: 'string', maxLength: 253, pattern: '^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$' };

const labelSelector = (description: string): Schema => ({
  type: 'object', description, additionalProperties: false,
  properties: {
    matchLabels: labelMap('Labels the objects must have.'),
    matchExpressions: {
      type: 'array', description: 'Label requirements, all of which must hold.',
      items: {
        type: 'object', description: 'One requirement: values for In and NotIn, none for Exists and DoesNotExist.', additionalProperties: false, required: ['key', 'operator'],
        properties: {
          key: { ...QUALIFIED_NAME, description: 'Label key.' },
          operator: str('How the values are matched.', { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
          values: { type: 'array', items: LABEL_VALUE, description: 'Label values.' },
        },
        if: { properties: { operator: { enum: ['In', 'NotIn'] } } },
        then: { required: ['values'], properties: { values: { type: 'array', minItems: 1 } } },
        else: { properties: { values: { type: 'array', maxItems: 0 } } },
      },
    },
  },
});
const IPV4_CIDR = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}/(3[0-2]|[12]?[0-9])';
// IPv6 only loosely (eight groups or fewer, a prefix to 128): what slips through, the API server refuses.
const IPV6_CIDR = '[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}/(12[0-8]|1[01][0-9]|[1-9]?[0-9])';
const CIDR = { type: 'string', pattern: `^(${IPV4_CIDR}|${IPV6_CIDR})$` };
/** A NetworkPolicyPeer: selectors (both: pods so labelled in namespaces so labelled), or an ipBlock alone. */
const networkPolicyPeer: Schema = {
  type: 'object', description: 'A NetworkPolicyPeer: namespaceSelector and/or podSelector, or ipBlock alone.', additionalProperties: false, minProperties: 1,
  properties: {
    namespaceSelector: labelSelector('Namespaces whose pods may connect ({} for all), e.g. matchLabels kubernetes.io/metadata.name: ingress-nginx.'),
    podSelector: labelSelector('Pods that may connect (in this namespace, or in those namespaceSelector selects).'),
    ipBlock: object('Addresses that may connect (outside the cluster: pod IPs change).', {
      cidr: { ...CIDR, description: 'A CIDR, e.g. 10.0.0.0/8.' },
      except: { type: 'array', items: CIDR, description: 'CIDRs inside cidr left out.' },
    }, ['cidr']),
  },
  if: { properties: { ipBlock: { type: 'object' } }, required: ['ipBlock'] },
  then: { maxProperties: 1 },
};

const IMAGE_TAG_DESCRIPTION = 'The tag the image has in its registry, shown as the orbit/image-tag label only: the pods run image.digest. '
  + 'It cannot be set to another (Argo CD Image Updater, Flux image automation): the image is pinned by digest, so to deploy another version install that version\'s chart (helm upgrade --version).';

/**
 * Top-level values every chart's values.yaml has but the schema does not require: added on 2026-12-07 (and
 * `service.annotations` inside `service`), which a `helm upgrade --reuse-values` of a release installed from an
 * earlier chart lacks (found by a reread: every such upgrade failed "podLabels is required"). The templates take each
 * as absent.
 */
export const VALUES_ADDED_LATER: readonly string[] = ['podLabels', 'imageHasCommand', 'writablePathOverrides', 'lifecycle', 'priorityClassName', 'runtimeClassName', 'affinity'];

/** The schema every chart shares; a chart's own (valuesSchemaOf) also fixes image.tag to its image's. */
export const VALUES_SCHEMA: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Values of a chart generated by Orbit (c12bms06)',
  type: 'object',
  additionalProperties: false,
  required: [
    'nameOverride', 'fullnameOverride', 'environment', 'imageUID', 'replicaCount', 'revisionHistoryLimit', 'image', 'imagePullSecrets',
    'commonLabels', 'commonAnnotations', 'podAnnotations', 'serviceAccount', 'command', 'args', 'workingDir', 'env', 'containerPort', 'extraPorts',
    'service', 'allowRoot', 'podSecurityContext', 'securityContext', 'resources', 'probes', 'writablePaths', 'terminationGracePeriodSeconds',
    // Not required: VALUES_ADDED_LATER.
    'podAntiAffinity', 'topologySpreadConstraints', 'nodeSelector', 'tolerations', 'autoscaling', 'podDisruptionBudget', 'networkPolicy', 'tests',
  ],
  allOf: [
    // Root and added capabilities only when asked for by name: an override that meant something else never runs the app as root.
    onlyWithAllowRoot(['podSecurityContext', 'runAsUser'], { const: 0 }),
    onlyWithAllowRoot(['podSecurityContext', 'runAsNonRoot'], { const: false }),
    onlyWithAllowRoot(['securityContext', 'runAsNonRoot'], { const: false }),
    onlyWithAllowRoot(['securityContext', 'capabilities', 'add'], {}),
    // UID 0 with runAsNonRoot true at either level is refused by the kubelet at every start (CreateContainerConfigError): refuse it at install.
    {
      if: { type: 'object', properties: { podSecurityContext: { type: 'object', properties: { runAsUser: { const: 0 } } } } },
      then: {
        type: 'object',
        properties: { podSecurityContext: { type: 'object', properties: { runAsNonRoot: { const: false } } }, securityContext: { type: 'object', properties: { runAsNonRoot: { const: false } } } },
      },
    },
  ],
  properties: {
    // Helm passes every chart a `global` map, a dependency of an umbrella chart its parent's: refusing it refused every umbrella chart.
    global: { type: 'object', description: 'Helm\'s global values, passed to every chart and sub-chart; this chart reads none.' },
    // Names of every object: a value the API server would refuse is refused by helm install instead, saying which.
    nameOverride: str('Replaces the chart name in resource names: lower-case letters, digits and dashes.', { maxLength: 63, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$' }),
    fullnameOverride: str('Replaces the whole resource name (also the Service name, so it starts with a letter).', { maxLength: 63, pattern: '^([a-z]([-a-z0-9]*[a-z0-9])?)?$' }),
    environment: str('Pipeline environment, set as the `environment` label.', { enum: ['Development', 'Testing', 'Staging', 'Production'] }),
    imageUID: str('Orbit image UID, set as the orbit/image-uid pod annotation.', { minLength: 1 }),
    replicaCount: int('Pods when autoscaling is off.', 1),
    revisionHistoryLimit: int('Old ReplicaSets kept for rollbacks.', 0),
    image: object('The application image, pulled by digest.', {
      repository: str('Registry path without tag or digest.', { minLength: 1 }),
      digest: { ...digest, description: 'Manifest digest the pods pull.' },
      tag: str(IMAGE_TAG_DESCRIPTION, { maxLength: 63, pattern: LABEL_VALUE.pattern }),
      pullPolicy: str('Image pull policy.', { enum: ['IfNotPresent', 'Always', 'Never'] }),
    }),
    imagePullSecrets: {
      type: 'array', description: 'Secrets for a private registry.',
      items: object('A Secret name.', { name: str('Secret name.', { minLength: 1 }) }),
    },
    commonLabels: commonLabelMap('Labels from the image metadata, on every object; not a key the chart sets itself.'),
    commonAnnotations: annotationMap('Image metadata labels whose values are free text, as annotations on the Deployment and its pods.'),
    podAnnotations: annotationMap('Extra pod annotations.'),
    podLabels: commonLabelMap('Labels on the pods only (a team\'s, a cost centre\'s, a service mesh\'s); not a key the chart sets itself, nor one of commonLabels (the install fails naming it).'),
    serviceAccount: object('The pods\' service account.', {
      create: bool('Create one for this release.'),
      name: str('Name; empty means the release fullname (or "default" when create is false).', { maxLength: 253, pattern: `^(${DNS_SUBDOMAIN})?$` }),
      annotations: annotationMap('Annotations, e.g. for cloud IAM bindings.'),
    }),
    imageHasCommand: bool('Whether the image config sets an ENTRYPOINT or CMD (a fact of the image, read by NOTES): without one, and without command or args, no container runtime can start it.'),
    command: { type: 'array', items: { type: 'string' }, description: 'Replaces the image ENTRYPOINT (from the entrypoint override).' },
    args: { type: 'array', items: { type: 'string' }, description: 'Replaces the image CMD (from the command override).' },
    workingDir: str('Working directory, absolute (runc refuses a relative one); empty keeps the image\'s.', { pattern: '^(/[\\s\\S]*)?$' }),
    env: { ...stringMap('Environment: the image ENV with the metadata envVars over it, in a ConfigMap.'), propertyNames: CONFIG_MAP_KEY },
    containerPort: object('The port the app listens on.', {
      enabled: bool('Whether the app listens at all.'),
      port: int('Port number.', 1, { maximum: 65535 }),
      protocol: str('Protocol.', { enum: ['TCP', 'UDP', 'SCTP'] }),
    }),
    extraPorts: {
      type: 'array', description: 'Other ports the app listens on (the image\'s other EXPOSE entries): on the container, the Service and the NetworkPolicy, with containerPort.', uniqueItems: true,
      items: object('A port beside containerPort.', {
        // IANA_SVC_NAME: no `--`, a letter in it; `app` is containerPort's. Two extra ports alike (a name, or a number and protocol) fail in the templates.
        name: str('Port name: an IANA service name (lower-case letters, digits, single dashes, a letter), unique in the pod, not app.', {
          maxLength: 15, pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', allOf: [{ pattern: '[a-z]' }, { not: { const: 'app' } }],
        }),
        containerPort: int('Port number.', 1, { maximum: 65535 }),
        protocol: str('Protocol.', { enum: ['TCP', 'UDP', 'SCTP'] }),
      }),
    },
    service: object('ClusterIP Service in front of containerPort.', {
      enabled: bool('Create the Service (needs containerPort.enabled).'),
      type: str('Service type; only ClusterIP, exposure is an Ingress\'s job.', { enum: ['ClusterIP'] }),
      port: int('Service port.', 1, { maximum: 65535 }),
      annotations: annotationMap('Annotations on the Service (a cloud load balancer\'s, external-dns\', a service mesh\'s).'),
    }, ['enabled', 'type', 'port']),
    allowRoot: bool('Lets podSecurityContext and securityContext run the app as root (runAsNonRoot false, runAsUser 0) and add capabilities: for an image that needs root. The pod then fails the restricted Pod Security Standard; a namespace enforcing it refuses the pod. Group 0 (runAsGroup, fsGroup) needs no allowRoot.'),
    podSecurityContext: object('Pod security context (restricted Pod Security Standard unless allowRoot).', {
      runAsNonRoot: bool('Refuse to start as root; false only with allowRoot.'),
      runAsUser: int('UID: the image USER when numeric and not root, else 10001; 0 only with allowRoot.', 0),
      runAsGroup: int('GID: the group the image USER names (0 included, as OpenShift-style images run); absent keeps the image\'s (its /etc/passwd group, or 0).', 0),
      fsGroup: int('Group owning mounted volumes (a PVC), added to the process\'s groups: the USER\'s group, else its UID.', 0),
      seccompProfile,
      sysctls: {
        type: 'array', description: 'Namespaced sysctls (e.g. net.ipv4.ip_unprivileged_port_start 0, so a non-root app binds port 80); beyond the safe set the kubelet must allow them. Values are strings: --set-string.',
        items: object('One sysctl.', { name: { ...SYSCTL_NAME, description: 'Sysctl name.' }, value: str('Its value.') }),
      },
    }, ['runAsNonRoot', 'runAsUser', 'fsGroup', 'seccompProfile']),
    securityContext: appContainerSecurityContext,
    resources: resources('Container resources.'),
    probes: object('Health probes.', {
      enabled: bool('Render the probes below.'),
      source: str('Where they came from.', { enum: ['healthcheck', 'tcp-port', 'none'] }),
      disabledReason: str('Why there are none, when enabled is false.'),
      liveness: probe({ const: 1, description: 'Must be 1 for a liveness probe.' }),
      readiness: probe(int('Passed checks in a row to count as ready.', 1)),
      startup: probe({ const: 1, description: 'Must be 1 for a startup probe.' }),
    }),
    writablePaths: {
      type: 'array', description: 'Absolute paths that get an emptyDir (image VOLUMEs and metadata volumes).', uniqueItems: true,
      // Any absolute path but the root: Linux names may hold a newline, which '.' would not match. Not /tmp: it has its emptyDir already, and a second mount there is refused.
      items: { type: 'string', pattern: '^/[\\s\\S]+$', not: { pattern: '^/+tmp/*$' } },
    },
    writablePathOverrides: {
      type: 'array',
      description: 'An emptyDir starts empty and hides the files an image ships under its VOLUME (plugins, default config): per path of writablePaths, '
        + 'unmounted true leaves the image\'s own directory there (read-only, as the root filesystem is), or claimName mounts that PersistentVolumeClaim instead.',
      items: {
        ...object('One path of writablePaths and what it gets instead of an emptyDir: unmounted or claimName, not both.', {
          path: str('A path of writablePaths, as written there.', { pattern: '^/[\\s\\S]+$' }),
          unmounted: { const: true, description: 'Mount nothing there: the image\'s files stay, read-only.' },
          claimName: str('A PersistentVolumeClaim in the release\'s namespace to mount there (it starts with what its volume holds, not the image\'s files).', { maxLength: 253, pattern: `^${DNS_SUBDOMAIN}$` }),
        }, ['path']),
        minProperties: 2, maxProperties: 2,
      },
    },
    terminationGracePeriodSeconds: int('Seconds between SIGTERM and SIGKILL.', 0),
    lifecycle: {
      type: 'object', additionalProperties: false,
      description: 'The app container\'s lifecycle hooks, e.g. preStop sleep 5 so that a rolling update drops no connection the Service still sends (Kubernetes\' own sleep needs no program in the image).',
      properties: { preStop: lifecycleHandler('Run before the container is stopped (SIGTERM waits for it).'), postStart: lifecycleHandler('Run right after the container starts.') },
    },
    priorityClassName: str('PriorityClass of the pods; empty for the cluster\'s default.', { maxLength: 253, pattern: `^(${DNS_SUBDOMAIN})?$` }),
    runtimeClassName: str('RuntimeClass the pods run with (gVisor, Kata); empty for the node\'s default.', { maxLength: 253, pattern: `^(${DNS_SUBDOMAIN})?$` }),
    affinity: {
      type: 'object', additionalProperties: false,
      description: 'Pod affinity as Kubernetes has it; when set it replaces the preferred anti-affinity podAntiAffinity renders.',
      properties: {
        nodeAffinity: { type: 'object', description: 'Nodes the pods require or prefer.' },
        podAffinity: { type: 'object', description: 'Pods these pods go beside.' },
        podAntiAffinity: { type: 'object', description: 'Pods these pods keep away from.' },
      },
    },
    podAntiAffinity: object('Prefer spreading pods over nodes.', {
      enabled: bool('Add the preferred anti-affinity.'),
      topologyKey: { ...QUALIFIED_NAME, description: 'Node label to spread over.' },
      weight: int('Preference weight.', 1, { maximum: 100 }),
    }),
    topologySpreadConstraints: {
      type: 'array', description: 'Spread constraints; the label selector is the release\'s selector labels.',
      items: object('One constraint.', {
        maxSkew: int('Largest allowed difference.', 1),
        topologyKey: { ...QUALIFIED_NAME, description: 'Node label.' },
        whenUnsatisfiable: str('What to do when it cannot hold.', { enum: ['ScheduleAnyway', 'DoNotSchedule'] }),
      }),
    },
    nodeSelector: labelMap('Node labels the pods require.'),
    tolerations: {
      type: 'array', description: 'Taints the pods tolerate.',
      items: {
        type: 'object', description: 'One toleration, as Kubernetes has it.',
        properties: {
          key: { type: 'string', maxLength: 317, pattern: `^(${QUALIFIED_NAME.pattern.slice(1, -1)})?$`, description: 'Taint key; empty (operator Exists) tolerates every taint.' },
          operator: str('How the key is matched.', { enum: ['Equal', 'Exists'] }),
          value: { ...LABEL_VALUE, description: 'Taint value, with Equal; empty with Exists.' },
          effect: str('The taint effect tolerated; empty is all.', { enum: ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'] }),
          tolerationSeconds: { type: 'integer', description: 'Seconds a NoExecute taint is tolerated before eviction; with effect NoExecute only.' },
        },
        // As the API server: Exists takes no value, tolerationSeconds is NoExecute's, and no key means Exists.
        allOf: [
          { if: { properties: { operator: { const: 'Exists' } }, required: ['operator'] }, then: { properties: { value: { const: '' } } } },
          { if: { properties: { tolerationSeconds: { type: 'integer' } }, required: ['tolerationSeconds'] }, then: { properties: { effect: { const: 'NoExecute' } }, required: ['effect'] } },
          { if: { not: { properties: { key: { type: 'string', minLength: 1 } }, required: ['key'] } }, then: { properties: { operator: { const: 'Exists' } }, required: ['operator'] } },
        ],
      },
    },
    autoscaling: object('HorizontalPodAutoscaler on CPU.', {
      enabled: bool('Create the HPA (the Deployment then has no replicas field).'),
      minReplicas: int('Fewest pods.', 1),
      maxReplicas: int('Most pods.', 1),
      targetCPUUtilizationPercentage: int('CPU use, as a percentage of requests, to scale at.', 1, { maximum: 100 }),
    }),
    podDisruptionBudget: object('PodDisruptionBudget.', {
      enabled: bool('Create it.'),
      minAvailable: int('Pods that must stay up during voluntary disruptions; with no more pods than that (one replica), maxUnavailable 1 is used instead, so node drains are not blocked.', 0),
      maxUnavailable: int('Pods that may be down during voluntary disruptions; when set, used instead of minAvailable.', 0),
    }, ['enabled', 'minAvailable']),
    networkPolicy: object('NetworkPolicy: ingress only to containerPort and extraPorts, from this namespace and ingressFrom.', {
      enabled: bool('Create it.'),
      ingressFrom: {
        type: 'array', description: 'More peers that may connect, beside this namespace\'s pods: an Ingress controller\'s or a Prometheus\' namespace.', items: networkPolicyPeer,
      },
      allowAllEgress: bool('Allow all egress; when false only DNS and extraEgress.'),
      extraEgress: { type: 'array', description: 'More egress rules (NetworkPolicyEgressRule).', items: { type: 'object' } },
    }),
    tests: object('`helm test` pod that connects to the Service.', {
      enabled: bool('Render it.'),
      image: object('Test image, by digest.', {
        repository: str('Registry path.', { minLength: 1 }),
        digest: { ...digest, description: 'Manifest digest.' },
      }),
      securityContext: containerSecurityContext,
      resources: resources('Test pod resources.'),
    }),
  },
};

/**
 * values.schema.json of the chart whose image has `tag`: VALUES_SCHEMA with
 * image.tag fixed to it. A tag set at install changed nothing that runs (the
 * pods pull image.digest) yet relabelled the pods with it, so dashboards
 * showed a version that was not running (found by a review): helm now
 * refuses it, `image.tag: image.tag does not match: "<tag>"`.
 */
export function valuesSchemaOf(tag: string): Schema {
  const properties = VALUES_SCHEMA.properties as Record<string, Schema>;
  const image = properties.image as Schema & { properties: Record<string, Schema> };
  return {
    ...VALUES_SCHEMA,
    properties: { ...properties, image: { ...image, properties: { ...image.properties, tag: { type: 'string', const: tag, description: IMAGE_TAG_DESCRIPTION } } } },
  };
}
