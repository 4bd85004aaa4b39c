exports.quote = (s) => "'" + s + "'";
