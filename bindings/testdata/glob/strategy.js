// glob() lists files under the workspace root, sorted, relative to it.
console.log(JSON.stringify(glob("**/*.py")));
console.log(JSON.stringify(glob("src/*")));
console.log(JSON.stringify(glob("*.rs")));
root("src");
console.log(JSON.stringify(glob("**/*_test.py")));
glob("src/[");
