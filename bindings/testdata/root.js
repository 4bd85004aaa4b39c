// root() before and after moving the root: relative to this file's directory.
console.log(root());
console.log(root("../work/space"));
console.log(root());
