/**
 * deploy/k8s: every manifest valid against the Kubernetes schemas (kubernetes-models) and free of
 * fields the API does not define; the kustomization lists exactly the manifests; and the
 * manifests agree with each other, with the Dockerfile and with the server: ports, selectors,
 * probe paths the server answers, resources sized for WORKERS, a grace period that covers the
 * drain, a non-root read-only container, and settings the server accepts.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { send, startServer } from '../server/harness.js';
import { at, configFrom, cores, dockerfile, k8sDir, kubernetesBytes, memoryNeededMiB, readText, readYaml, settingsRead, uidOf, type Json } from './deploy-files.js';
import { fieldErrors, type Manifest } from './kubernetes-fields.js';

type ModelClass = new (data?: never) => { validate(): void };
const models: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

const kustomization = readYaml(join(k8sDir, 'kustomization.yaml'))[0] as Json;
const resources = (kustomization.resources ?? []) as string[];
const manifests: Manifest[] = resources.flatMap((file) =>
  existsSync(join(k8sDir, file)) ? readYaml(join(k8sDir, file)).map((doc, i, all) => ({ name: all.length > 1 ? `${file}#${i + 1}` : file, doc: doc as Json })) : [],
);

/** The one manifest of a kind (the test fails if there is not exactly one). */
function only(kind: string): Json {
  const found = manifests.filter((m) => m.doc.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} among the manifests, found ${found.length}`);
  return found[0].doc as Json;
}

const deployment = only('Deployment');
const service = only('Service');
const hpa = only('HorizontalPodAutoscaler');
const pdb = only('PodDisruptionBudget');
const networkPolicy = only('NetworkPolicy');
const configMap = only('ConfigMap');
const pod = at(deployment, 'spec', 'template') as Json;
const podLabels = (at(pod, 'metadata', 'labels') ?? {}) as Record<string, string>;
const containers = (at(pod, 'spec', 'containers') ?? []) as Json[];
const container = containers[0];
const settings = (configMap.data ?? {}) as Record<string, string>;
const config = configFrom(settings);

/** The container port a Service targetPort or probe port names: a number, or a port's name. */
function containerPort(port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  const ports = (container.ports ?? []) as { name?: string; containerPort: number }[];
  return ports.find((p) => p.name === port)?.containerPort;
}

/** Whether every label a selector asks for is on the pods. */
function selectsPods(selector: unknown): boolean {
  const labels = Object.entries((selector ?? {}) as Record<string, string>);
  return labels.length > 0 && labels.every(([k, v]) => podLabels[k] === v);
}

t.test('the kustomization applies every manifest in deploy/k8s and only those', async (t) => {
  t.equal(kustomization.apiVersion, 'kustomize.config.k8s.io/v1beta1', 'apiVersion');
  t.equal(kustomization.kind, 'Kustomization', 'kind');
  const files = readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
  t.strictSame([...resources].sort(), files.sort(), 'resources: the YAML files beside it');
  const known = ['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'images'];
  t.strictSame(Object.keys(kustomization).filter((k) => !known.includes(k)), [], `only fields this check knows: ${known.join(', ')}`);
  for (const entry of (kustomization.labels ?? []) as Json[]) {
    // A Deployment's selector cannot change once created: common labels stay out of selectors.
    t.equal(entry.includeSelectors, false, `labels ${JSON.stringify(entry.pairs)}: not in selectors`);
    t.equal(entry.includeTemplates, true, `labels ${JSON.stringify(entry.pairs)}: on the pods too`);
  }
  const images = (kustomization.images ?? []) as Json[];
  for (const image of images) t.equal(`${String(image.name)}:${String(image.newTag ?? 'latest')}`, container.image, `images: ${String(image.name)} is the container's image`);
});

t.test('every manifest is valid against the Kubernetes schemas (kubernetes-models)', async (t) => {
  t.ok(manifests.length >= 6, `${manifests.length} manifests`);
  for (const { name, doc } of manifests) {
    const Model = models[`${String(doc.apiVersion)}/${String(doc.kind)}`];
    if (Model === undefined) {
      t.fail(`${name}: no model for ${String(doc.apiVersion)} ${String(doc.kind)}`);
      continue;
    }
    t.doesNotThrow(() => new Model(doc as never).validate(), `${name}: a valid ${String(doc.kind)}`);
    t.match(at(doc, 'metadata', 'name'), /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${name}: a DNS-label name`);
  }
});

t.test('no manifest has a field the Kubernetes API does not define', async (t) => {
  const typo = structuredClone(deployment) as Json;
  const typoContainer = (at(typo, 'spec', 'template', 'spec', 'containers') as Json[])[0];
  typoContainer.readynessProbe = typoContainer.readinessProbe;
  const errors = fieldErrors([...manifests, { name: 'a misspelt probe', doc: typo }]);
  for (const { name } of manifests) t.strictSame(errors.get(name), [], `${name}: every field known`);
  // The check catches what the schemas alone let through.
  t.doesNotThrow(() => new Deployment(typo as never).validate(), 'validate() alone accepts readynessProbe');
  t.match(errors.get('a misspelt probe'), [/^spec\.template\.spec\.containers\[0\]\.readynessProbe: .*readynessProbe/], 'the field check names it');
});

// kubectl (with its kustomize) is not a dependency: where it is installed, it builds the kustomization.
const kubectl = (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'kubectl')));

t.test('kubectl kustomize builds it: common labels everywhere, selectors unchanged', { skip: kubectl ? false : 'kubectl is not installed here' }, async (t) => {
  const built = await new Promise<{ stdout: string; error: ExecFileException | null }>((resolve) =>
    execFile('kubectl', ['kustomize', k8sDir], { timeout: 60_000 }, (error, stdout) => resolve({ stdout, error })),
  );
  t.equal(built.error, null, `kubectl kustomize: ${built.error?.message ?? 'ok'}`);
  const objects = parseAllDocuments(built.stdout).map((d) => d.toJS() as Json);
  t.strictSame(objects.map((o) => `${String(o.kind)}/${String(at(o, 'metadata', 'name'))}`).sort(), manifests.map((m) => `${String(m.doc.kind)}/${String(at(m.doc, 'metadata', 'name'))}`).sort(), 'the same objects');
  const common = Object.assign({}, ...((kustomization.labels ?? []) as Json[]).map((l) => l.pairs)) as Record<string, string>;
  for (const o of objects) t.match(at(o, 'metadata', 'labels'), common, `${String(o.kind)}: the common labels`);
  const builtDeployment = objects.find((o) => o.kind === 'Deployment');
  t.match(at(builtDeployment, 'spec', 'template', 'metadata', 'labels'), common, 'the pods: the common labels');
  t.strictSame(at(builtDeployment, 'spec', 'selector'), at(deployment, 'spec', 'selector'), 'the Deployment selector as written');
  t.strictSame(at(objects.find((o) => o.kind === 'Service'), 'spec', 'selector'), at(service, 'spec', 'selector'), 'the Service selector as written');
});

t.test('ports: the container listens where the Dockerfile EXPOSEs and the Service sends', async (t) => {
  const port = containerPort('http');
  t.equal(port, 8080, 'the container port named http is 8080');
  t.equal(config.port, port, 'PORT (ConfigMap) is the container port');
  const facts = dockerfile();
  if (facts === null) t.fail('no Dockerfile at the top level');
  else t.strictSame(facts.exposed, [port], 'the Dockerfile EXPOSEs the container port');
  t.equal(at(service, 'spec', 'type'), 'ClusterIP', 'Service type ClusterIP');
  const ports = at(service, 'spec', 'ports') as Json[];
  t.equal(ports.length, 1, 'one Service port');
  t.equal(ports[0].port, 80, 'Service port 80');
  t.equal(containerPort(ports[0].targetPort), port, `Service targetPort ${String(ports[0].targetPort)} is the container port`);
  const ingress = at(networkPolicy, 'spec', 'ingress') as Json[];
  t.strictSame(
    ingress.flatMap((rule) => (rule.ports as Json[]).map((p) => ({ protocol: p.protocol, port: containerPort(p.port) }))),
    [{ protocol: 'TCP', port }],
    'NetworkPolicy lets in TCP to the container port only',
  );
  t.strictSame(at(networkPolicy, 'spec', 'policyTypes'), ['Ingress', 'Egress'], 'NetworkPolicy: ingress and egress policed');
  t.strictSame(at(networkPolicy, 'spec', 'egress'), [], 'NetworkPolicy: no egress (the service calls nothing)');
});

t.test('selectors: the Service, budget, policy and spread all select the Deployment’s pods', async (t) => {
  t.ok(selectsPods(at(deployment, 'spec', 'selector', 'matchLabels')), 'Deployment selector');
  t.ok(selectsPods(at(service, 'spec', 'selector')), 'Service selector = pod labels');
  t.ok(selectsPods(at(pdb, 'spec', 'selector', 'matchLabels')), 'PodDisruptionBudget selector');
  t.ok(selectsPods(at(networkPolicy, 'spec', 'podSelector', 'matchLabels')), 'NetworkPolicy podSelector');
  const spread = (at(pod, 'spec', 'topologySpreadConstraints') ?? []) as Json[];
  t.ok(spread.some((c) => c.topologyKey === 'kubernetes.io/hostname'), 'spread over nodes');
  for (const c of spread) t.ok(selectsPods(at(c, 'labelSelector', 'matchLabels')), `spread over ${String(c.topologyKey)}: counts these pods`);
  t.strictSame(at(hpa, 'spec', 'scaleTargetRef'), { apiVersion: deployment.apiVersion, kind: 'Deployment', name: at(deployment, 'metadata', 'name') }, 'the autoscaler scales the Deployment');
  t.equal(at(deployment, 'spec', 'replicas'), undefined, 'the Deployment leaves replicas to the autoscaler');
  t.equal(at(service, 'spec', 'sessionAffinity') ?? 'None', 'None', 'no session affinity: any replica answers any request');
});

t.test('autoscaling on CPU, and disruptions that leave pods serving', async (t) => {
  const min = Number(at(hpa, 'spec', 'minReplicas'));
  const max = Number(at(hpa, 'spec', 'maxReplicas'));
  t.ok(min >= 2, `minReplicas ${min}: at least two, so one can go`);
  t.ok(max > min, `maxReplicas ${max} above minReplicas`);
  const metrics = at(hpa, 'spec', 'metrics') as Json[];
  t.match(metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: Number } } }], 'on CPU utilisation');
  t.ok(at(container, 'resources', 'requests', 'cpu') !== undefined, 'utilisation needs a cpu request');
  const maxUnavailable = at(pdb, 'spec', 'maxUnavailable');
  const minAvailable = at(pdb, 'spec', 'minAvailable');
  if (maxUnavailable !== undefined) t.ok(Number(maxUnavailable) >= 1 && Number(maxUnavailable) < min, `the budget lets ${String(maxUnavailable)} pod go at a time and keeps others`);
  else t.ok(Number(minAvailable) >= 1 && Number(minAvailable) < min, `the budget keeps ${String(minAvailable)} and lets one go`);
  t.equal(at(deployment, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable'), 0, 'rollouts start new pods before stopping old ones');
});

t.test('probes: readiness on /readyz, liveness on /healthz, on the container port, answered by the server', async (t) => {
  const readiness = container.readinessProbe as Json;
  const liveness = container.livenessProbe as Json;
  t.equal(at(readiness, 'httpGet', 'path'), '/readyz', 'readinessProbe: /readyz');
  t.equal(at(liveness, 'httpGet', 'path'), '/healthz', 'livenessProbe: /healthz');
  const probes = Object.entries({ startupProbe: container.startupProbe, readinessProbe: readiness, livenessProbe: liveness }).filter(([, p]) => p !== undefined) as [string, Json][];
  const annotations = (at(pod, 'metadata', 'annotations') ?? {}) as Record<string, string>;
  t.equal(annotations['prometheus.io/scrape'], 'true', 'Prometheus scrapes the pods');
  t.equal(Number(annotations['prometheus.io/port']), containerPort('http'), 'on the container port');

  // The paths on a server started with the ConfigMap's settings (one worker, any free port).
  const { base } = await startServer(t, { ...settings, WORKERS: '1' });
  for (const [name, probe] of probes) {
    t.equal(containerPort(at(probe, 'httpGet', 'port')), containerPort('http'), `${name}: the container port`);
    t.equal(at(probe, 'httpGet', 'scheme') ?? 'HTTP', 'HTTP', `${name}: plain HTTP`);
    const path = String(at(probe, 'httpGet', 'path'));
    let reply = await send(base, path);
    // The worker threads may still be starting.
    for (let i = 0; i < 50 && reply.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await send(base, path);
    }
    t.equal(reply.status, 200, `${name}: GET ${path} answers 200`);
  }
  const metrics = await send(base, annotations['prometheus.io/path'] ?? '/metrics');
  t.equal(metrics.status, 200, `GET ${annotations['prometheus.io/path']}: 200`);
  t.match(metrics.headers.get('content-type'), /^text\/plain/, 'Prometheus text');
  t.match(metrics.text, /^# HELP /m, 'with metrics');
});

t.test('resources match WORKERS: a core per worker, memory for every worker’s heap and the main thread', async (t) => {
  const requests = (at(container, 'resources', 'requests') ?? {}) as Json;
  const limits = (at(container, 'resources', 'limits') ?? {}) as Json;
  t.equal(config.workers, Number(settings.WORKERS), 'WORKERS set in the ConfigMap, not left to the default');
  t.equal(cores(limits.cpu), config.workers, `cpu limit ${String(limits.cpu)} = WORKERS ${config.workers}`);
  t.ok(cores(requests.cpu) <= cores(limits.cpu), `cpu request ${String(requests.cpu)} within the limit`);
  const needed = memoryNeededMiB(config);
  t.ok(kubernetesBytes(limits.memory) >= needed * 2 ** 20, `memory limit ${String(limits.memory)} ≥ ${config.workers} × (${config.workerMemoryMb} + young generation) + 256 MiB = ${needed} MiB`);
  t.ok(kubernetesBytes(requests.memory) <= kubernetesBytes(limits.memory), `memory request ${String(requests.memory)} within the limit`);
});

t.test('shutdown: the grace period covers preStop and the server’s drain', async (t) => {
  const command = at(container, 'lifecycle', 'preStop', 'exec', 'command') as string[] | undefined;
  t.match(command, ['sleep', /^\d+$/], 'preStop sleeps, so endpoints drop the pod before SIGTERM');
  const preStopSeconds = Number(command?.[1] ?? NaN);
  const grace = Number(at(pod, 'spec', 'terminationGracePeriodSeconds'));
  t.ok(grace > preStopSeconds + config.shutdownGraceMs / 1000, `terminationGracePeriodSeconds ${grace} > preStop ${preStopSeconds} s + SHUTDOWN_GRACE_MS ${config.shutdownGraceMs} ms`);
});

t.test('security: non-root as the image’s user, read-only root, no capabilities, /tmp writable', async (t) => {
  const podSecurity = (at(pod, 'spec', 'securityContext') ?? {}) as Json;
  const security = (container.securityContext ?? {}) as Json;
  t.equal(podSecurity.runAsNonRoot, true, 'runAsNonRoot');
  t.equal(podSecurity.runAsUser, 1000, 'runAsUser 1000');
  const facts = dockerfile();
  if (facts !== null) t.equal(uidOf(facts.user ?? 'root'), podSecurity.runAsUser, `the Dockerfile's USER ${String(facts.user)} has that uid`);
  t.equal(at(podSecurity, 'seccompProfile', 'type'), 'RuntimeDefault', 'the runtime’s seccomp profile');
  t.equal(security.allowPrivilegeEscalation, false, 'no privilege escalation');
  t.equal(security.readOnlyRootFilesystem, true, 'read-only root file system');
  t.notOk(security.privileged, 'not privileged');
  t.strictSame(at(security, 'capabilities', 'drop'), ['ALL'], 'every capability dropped');
  t.strictSame(at(security, 'capabilities', 'add'), undefined, 'none added');
  const mount = ((container.volumeMounts ?? []) as Json[]).find((m) => m.mountPath === '/tmp');
  const volume = ((at(pod, 'spec', 'volumes') ?? []) as Json[]).find((v) => v.name === mount?.name);
  t.ok(volume?.emptyDir !== undefined, '/tmp: an emptyDir');
  t.equal(at(pod, 'spec', 'automountServiceAccountToken'), false, 'no service account token');
  t.equal(container.image, 'adjoint:latest', 'the image adjoint:latest');
  t.equal(container.imagePullPolicy, 'IfNotPresent', 'pulled only if not present (a locally loaded image works)');
});

t.test('settings: a ConfigMap the server accepts, API_KEYS from an optional Secret', async (t) => {
  const known = settingsRead();
  t.strictSame(Object.keys(settings).filter((k) => !known.includes(k)), [], 'every key is a setting the server reads');
  t.doesNotThrow(() => configFrom(settings), 'the server starts with them');
  t.notOk('API_KEYS' in settings, 'no keys in the ConfigMap');
  t.strictSame(container.envFrom, [{ configMapRef: { name: at(configMap, 'metadata', 'name') } }], 'the container takes every setting from the ConfigMap');
  const env = (container.env ?? []) as Json[];
  t.match(env, [{ name: 'API_KEYS', valueFrom: { secretKeyRef: { key: 'API_KEYS', optional: true } } }], 'API_KEYS from a Secret that may be absent');

  // The file lists every setting, set or commented out at its default.
  const text = readText(join(k8sDir, 'configmap.yaml'));
  const commented = new Map([...text.matchAll(/^\s*#\s*([A-Z][A-Z0-9_]*):\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
  const listed = new Set([...Object.keys(settings), ...commented.keys(), 'API_KEYS']);
  t.strictSame(known.filter((k) => !listed.has(k)), [], 'every setting the server reads is in configmap.yaml');
  const defaults = configFrom({});
  for (const [name, value] of commented) t.strictSame(configFrom({ [name]: value }), defaults, `# ${name}: "${value}" is its default`);
});

t.test("docs/configuration.md's table lists every setting the server reads, each once", async (t) => {
  const doc = readText(join(k8sDir, '..', '..', 'docs', 'configuration.md'));
  const rows = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
  t.strictSame(settingsRead().filter((k) => !rows.includes(k)), [], 'every setting has a row');
  t.strictSame(rows.filter((k, i) => rows.indexOf(k) !== i), [], 'no setting has two');
});

t.test("the README's first settings are settings the server reads, and it links the whole table", async (t) => {
  const readme = readText(join(k8sDir, '..', '..', 'README.md'));
  const rows = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
  t.ok(rows.length > 0, `the README has a table of settings (${rows.join(', ')})`);
  const known = settingsRead();
  t.strictSame(rows.filter((k) => !known.includes(k)), [], 'each is a setting the server reads');
  t.strictSame(rows.filter((k, i) => rows.indexOf(k) !== i), [], 'no setting has two rows');
  t.match(readme, /\]\(docs\/configuration\.md\)/, 'the README links docs/configuration.md');
});
