/**
 * Fields the Kubernetes API does not define. kubernetes-models' validators were generated from
 * the Kubernetes OpenAPI schemas, which leave objects open (no additionalProperties: false), so
 * a misspelt `readynessProbe` passes `validate()` and the API server would drop it without a word.
 * The same package's type declarations, generated from the same schemas, are closed: each
 * manifest is written out as an object literal of its kind's interface and handed to the
 * TypeScript compiler, whose excess-property check names every field the kind lacks, at any depth.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { root } from './deploy-files.js';

/** The interface of each kind the manifests use, by apiVersion and kind. */
const kinds: Record<string, { module: string; name: string }> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', name: 'IConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', name: 'IService' },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret', name: 'ISecret' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', name: 'IDeployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': { module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', name: 'IHorizontalPodAutoscaler' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', name: 'IPodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', name: 'INetworkPolicy' },
};

export interface Manifest {
  /** Where it came from, for messages: file and document. */
  readonly name: string;
  readonly doc: { apiVersion?: unknown; kind?: unknown };
}

/** Each manifest's problems ("spec.template.spec.containers[0].readynessProbe: ..."), by name; none: an empty list. */
export function fieldErrors(manifests: readonly Manifest[]): Map<string, string[]> {
  const errors = new Map<string, string[]>();
  const files = new Map<string, { manifest: Manifest; text: string }>();
  manifests.forEach((manifest, i) => {
    const kind = kinds[`${String(manifest.doc.apiVersion)}/${String(manifest.doc.kind)}`];
    if (kind === undefined) {
      errors.set(manifest.name, [`no interface known for ${String(manifest.doc.apiVersion)} ${String(manifest.doc.kind)}`]);
      return;
    }
    // A file name the compiler never finds on disk: its source is given below.
    const fileName = join(root, 'test', 'deploy', `manifest-${i}.virtual.ts`);
    const text = `import type { ${kind.name} } from '${kind.module}';\nexport const manifest: ${kind.name} = ${JSON.stringify(manifest.doc, null, 2)};\n`;
    files.set(fileName, { manifest, text });
    errors.set(manifest.name, []);
  });

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const file = files.get(fileName);
    return file === undefined ? getSourceFile.call(host, fileName, languageVersion, ...rest) : ts.createSourceFile(fileName, file.text, languageVersion, true);
  };
  host.fileExists = (fileName) => files.has(fileName) || fileExists.call(host, fileName);
  host.readFile = (fileName) => files.get(fileName)?.text ?? readFile.call(host, fileName);

  const program = ts.createProgram([...files.keys()], options, host);
  for (const [fileName, { manifest }] of files) {
    const source = program.getSourceFile(fileName);
    if (source === undefined) throw new Error(`the compiler lost ${fileName}`);
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    errors.set(
      manifest.name,
      diagnostics.map((d) => `${d.start === undefined ? '' : `${pathAt(source, d.start)}: `}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`),
    );
  }
  return errors;
}

/** The manifest path ("spec.ports[0].port") of the object-literal node at a position. */
function pathAt(source: ts.SourceFile, position: number): string {
  let node: ts.Node = source;
  for (;;) {
    const child: ts.Node | undefined = node.getChildren(source).find((c) => c.getStart(source) <= position && position < c.getEnd());
    if (child === undefined) break;
    node = child;
  }
  const parts: string[] = [];
  for (let n: ts.Node | undefined = node; n !== undefined; n = n.parent) {
    const parent: ts.Node | undefined = n.parent;
    if (ts.isPropertyAssignment(n)) parts.unshift(`.${n.name.getText(source).replace(/^"|"$/g, '')}`);
    else if (parent !== undefined && ts.isArrayLiteralExpression(parent)) parts.unshift(`[${parent.elements.indexOf(n as ts.Expression)}]`);
    if (ts.isVariableDeclaration(n)) break;
  }
  return parts.join('').replace(/^\./, '') || '(the manifest)';
}
