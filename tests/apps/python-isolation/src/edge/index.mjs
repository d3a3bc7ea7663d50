// Reports the Node.js version it runs on, and whether a package it did not bring can be imported.
export const handler = async () => {
  const imports = {};
  for (const name of ["@aws-sdk/client-s3", "@aws-lambda-powertools/logger", "express"]) {
    try {
      await import(name);
      imports[name] = true;
    } catch (err) {
      imports[name] = err.code || String(err);
    }
  }
  return { node: process.version, imports };
};
