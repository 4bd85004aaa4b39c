// Requires its own neighbour, relative to this file.
const { quote } = require("./quote");
exports.tasks = (pkgs) => pkgs.map((p) => ({ name: "test:" + p, cmd: "go test " + quote(p) }));
exports.describe = () => "tasks.js loaded from lib";
