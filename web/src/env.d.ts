// esbuild bundles imported stylesheets into app.css; to TypeScript they are side effects.
declare module "*.css";
