// The layers of src/ (README "Layout"): imports only go down, never across a cycle.
// `npm run lint` runs this; the violations not yet fixed are listed in .dependency-cruiser-known.json and
// ignored, so a new one fails the build while the old ones are worked off.
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

/**
 * Folder loops, listed by `npm run deps:all` only until issue 20's refactor removes the ones there are
 * (dependency-cruiser's list of known violations does not hold folder-scope ones). A folder loop that
 * crosses layers fails a layer rule anyway.
 */
const folderCycles = {
  name: 'no-folder-cycles',
  scope: 'folder',
  severity: 'warn',
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
    ...(process.env.DEPS_FOLDERS === '1' ? [folderCycles] : []),
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
