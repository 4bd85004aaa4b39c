setTimeout(() => console.log("never"), 3600 * 1000);
