import { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { v4 as uuidv4, validate, version } from 'uuid';
import createDebug from 'debug';

const debug = createDebug('hello-world');

interface Greeting {
    message: string;
    requestId: string;
    uuidVersion: number;
    humanized: string;
}

/**
 * Sample Lambda function which mocks the operation of creating a request id with uuid (an npm dependency)
 *
 * Event doc: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 * @param {Object} event - API Gateway Lambda Proxy Input Format
 *
 * Return doc: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 * @returns {Object} object - API Gateway Lambda Proxy Output Format
 */
export const lambdaHandler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId: string = uuidv4();
    const greeting: Greeting = {
        message: 'hello world',
        requestId,
        uuidVersion: validate(requestId) ? version(requestId) : -1,
        humanized: createDebug.humanize(60000),
    };
    debug('greeting %o', greeting);
    return {
        statusCode: 200,
        body: JSON.stringify(greeting),
    };
};
