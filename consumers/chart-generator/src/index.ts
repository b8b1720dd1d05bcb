/** c12bms06 chart generator core: pure functions from a stored image to a chart, manifests and Kustomize files. */
export { renderChart, chartMetadataOf, TEMPLATE_FILES } from './chart/render.js';
export { renderManifests, type K8sObject, type RenderOptions } from './chart/manifests.js';
export { buildValues, type ChartValues, TEST_IMAGE } from './chart/values.js';
export type { ChartInput } from './chart/input.js';
export { VALUES_SCHEMA, valuesSchemaOf } from './chart/values-schema.js';
export { kustomizeBase, kustomizeOverlay, overlaidManifests, overlayDirOf, repinnedImage, KUSTOMIZE_BASE_DIR, OVERLAY_SETTINGS, type ImageRename } from './kustomize.js';
export { packageChart, packageFileNameOf, PACKAGE_MTIME } from './package-chart.js';
export { chartNameOf, helmChartNameOf, chartVersionOf, MAX_CHART_NAME } from './naming.js';
export { ENVIRONMENTS, parseEnvironment, type Environment } from './environment.js';
export { CHART_ERROR_CODES, ChartVersionError, ChartInputError, ChartCommandError, ChartEnvironmentError, ChartRowError, type ChartErrorCode } from './errors.js';
export { splitShellWords } from './shell-words.js';
