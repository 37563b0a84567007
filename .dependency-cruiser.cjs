// The layers of src/ (README "Layout"): imports only go down, and no modules or folders import each other.
// `npm run lint` (so `npm test` and CI) runs this: any violation fails the build.
const folders = (...names) => `^src/(${names.join('|')})(/|\\.ts$)`;
const LAYERS = [
  ['util', 'log'],
  ['nn', 'search', 'text', 'image', 'onnx', 'eval', 'batching'],
  ['encoder', 'data', 'train', 'grounding', 'qagen'],
  ['caption', 'vqa', 'char'],
  // The composition root: configuration, loading the services, the runtime choice; server and jobs both use it.
  ['app'],
  ['server', 'jobs', 'cli', 'report'],
];

/** One rule per layer: nothing in it imports a layer above. */
const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer[0]}`,
  severity: 'error',
  comment: `${layer.join(', ')} may import only from their own layer or below; pass what they need from above down instead.`,
  from: { path: folders(...layer) },
  to: { path: folders(...LAYERS.slice(i + 1).flat()) },
}));

/** Folders that import each other, within one layer too (a loop across layers fails a layer rule as well). */
const folderCycles = {
  name: 'no-folder-cycles',
  scope: 'folder',
  severity: 'error',
  comment: 'Folders that import each other are one layer: move what both need below them.',
  from: { path: '^src/' },
  to: { circular: true },
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules that import each other are one module in two files: move what both need below them.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    folderCycles,
    ...layerRules,
    {
      name: 'server-jobs-apart',
      severity: 'error',
      comment: 'server (HTTP) and jobs (the queue) both build on app/, neither on the other.',
      from: { path: folders('server') },
      to: { path: folders('jobs') },
    },
    {
      name: 'jobs-server-apart',
      severity: 'error',
      comment: 'server (HTTP) and jobs (the queue) both build on app/, neither on the other.',
      from: { path: folders('jobs') },
      to: { path: folders('server') },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
