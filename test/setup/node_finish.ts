/** Node only, imported last in the Node spec bundle: settles which backends run, before jasmine starts. */
import {prepareBackends} from '../helpers/backends';

jasmine.DEFAULT_TIMEOUT_INTERVAL = 60000;
await prepareBackends();
